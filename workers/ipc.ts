/**
 * The worker's end of the IPC channel. Sending never throws: when the parent is gone the
 * message is dropped (the `disconnect` handler is already tearing the process down). Every
 * outgoing message is checked against the protocol schema first, so a bug that builds a
 * malformed message shows up in the worker's own log instead of as a silent refusal on the
 * supervisor's side.
 */
import { WorkerMessageSchema, type WorkerMessageInput } from '../src/protocol/messages.js';
import { errorFields, type Logger } from './log.js';

/** Sends protocol messages to the supervisor. */
export interface Channel {
  send(message: WorkerMessageInput): void;
  /** Resolves once every sent message has been handed to the OS, or after `timeoutMs`. */
  flush(timeoutMs: number): Promise<void>;
}

/** The subset of `process` a channel needs (lets tests pass a fake). */
export interface IpcEndpoint {
  connected?: boolean;
  send?: (message: unknown, callback: (error: Error | null) => void) => boolean;
}

/** Creates the channel over this process's IPC connection to its parent. */
export function createProcessChannel(logger: Logger, endpoint: IpcEndpoint = process as IpcEndpoint): Channel {
  let pending = 0;
  let waiters: Array<() => void> = [];

  const settleOne = (): void => {
    pending -= 1;
    if (pending === 0) {
      const done = waiters;
      waiters = [];
      for (const resolve of done) resolve();
    }
  };

  return {
    send(message) {
      const check = WorkerMessageSchema.safeParse(message);
      if (!check.success) {
        // Still sent: the supervisor refuses it and logs its side too, which is easier to
        // trace than a message that never arrived.
        logger.log('error', 'sending a message that does not match the protocol', {
          type: message.type,
          issues: check.error.issues.slice(0, 3).map((issue) => `${issue.path.join('.')}: ${issue.message}`),
        });
      }
      if (endpoint.send === undefined || endpoint.connected === false) {
        logger.log('debug', 'parent gone; message dropped', { type: message.type });
        return;
      }
      pending += 1;
      try {
        endpoint.send(message, (error) => {
          if (error !== null) logger.log('warn', 'IPC send failed', { type: message.type, ...errorFields(error) });
          settleOne();
        });
      } catch (error) {
        logger.log('warn', 'IPC send threw', { type: message.type, ...errorFields(error) });
        settleOne();
      }
    },
    flush(timeoutMs) {
      if (pending === 0) return Promise.resolve();
      return new Promise((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}
