/**
 * A client of the daemon's socket: one connection, requests answered by id, and event lines
 * for a subscription (`subscribe`) or inspection messages for an `inspect` stream (one
 * `InspectMessage` per line: src/inspect/types.ts). Used by the CLI's daemon commands and by tests.
 */
import net from 'node:net';
import { CoordError, isCoordErrorCode } from '../errors.js';
import type { InspectMessage } from '../inspect/types.js';
import { LineSplitter } from './line-splitter.js';
import type { ControlAnswer, EventLine } from './protocol.js';

export interface ControlClient {
  /** Sends `{cmd, ...args}` and resolves with the answer's data, or throws its error as a CoordError. */
  request<T = unknown>(cmd: string, args?: Record<string, unknown>): Promise<T>;
  /** Subscribes; `onEvent` hears every event line from then on. */
  subscribe(onEvent: (event: EventLine) => void): Promise<void>;
  /** Asks for the `inspect` stream; `onMessage` hears every inspection message from then on (the replay first). */
  inspect(onMessage: (message: InspectMessage) => void): Promise<void>;
  /** Resolves when the daemon closes the connection. */
  readonly closed: Promise<void>;
  close(): void;
}

/**
 * Connects to the socket at `path`; `DAEMON_NOT_RUNNING` when nothing answers there. With
 * `retryForMs`, a refused connection is retried until then (a daemon still starting).
 */
export async function connectControl(path: string, { retryForMs = 0 }: { retryForMs?: number } = {}): Promise<ControlClient> {
  const until = Date.now() + retryForMs;
  for (;;) {
    try {
      return await connectOnce(path);
    } catch (error) {
      if (Date.now() >= until) {
        throw new CoordError('DAEMON_NOT_RUNNING', `no coord daemon answers on ${path} (coord daemon start starts one)`, { cause: error, details: { socket: path } });
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

function connectOnce(path: string): Promise<ControlClient> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(path);
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(clientOn(socket));
    });
  });
}

function clientOn(socket: net.Socket): ControlClient {
  const pending = new Map<number, { resolve: (data: unknown) => void; reject: (error: Error) => void }>();
  const listeners: Array<(event: EventLine) => void> = [];
  const inspectors: Array<(message: InspectMessage) => void> = [];
  const splitter = new LineSplitter(64 * 1024 * 1024);
  let next = 1;
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const gone = (): void => {
    for (const { reject } of pending.values()) reject(new CoordError('DAEMON_NOT_RUNNING', 'the daemon closed the connection before answering'));
    pending.clear();
  };
  socket.on('error', gone);
  socket.on('close', gone);
  socket.on('data', (chunk: Buffer) => {
    for (const item of splitter.push(chunk)) {
      if (item.kind !== 'line' || item.line === '') continue;
      const message = JSON.parse(item.line) as ControlAnswer | EventLine | InspectMessage;
      // An inspection message is the only line with a `type` (a snapshot's also has an `event`).
      if ('type' in message && typeof message.type === 'string') {
        for (const inspector of inspectors) inspector(message);
        continue;
      }
      if ('event' in message) {
        for (const listener of listeners) listener(message);
        continue;
      }
      const waiter = typeof message.id === 'number' ? pending.get(message.id) : undefined;
      if (!waiter) continue;
      pending.delete(message.id as number);
      if (message.ok) waiter.resolve(message.data);
      else waiter.reject(new CoordError(isCoordErrorCode(message.error.code) ? message.error.code : 'INTERNAL', message.error.message,
        message.error.details === undefined ? {} : { details: message.error.details as Record<string, unknown> }));
    }
  });
  const request = <T>(cmd: string, args: Record<string, unknown> = {}): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = next;
      next += 1;
      pending.set(id, { resolve: resolve as (data: unknown) => void, reject });
      socket.write(`${JSON.stringify({ ...args, id, cmd })}\n`);
    });
  return {
    request,
    async subscribe(onEvent) {
      listeners.push(onEvent);
      await request('subscribe');
    },
    async inspect(onMessage) {
      inspectors.push(onMessage);
      await request('inspect');
    },
    closed,
    close: () => socket.end(),
  };
}
