import { describe, expect, it } from 'vitest';
import type { WorkerMessageInput } from '../../src/protocol/messages.js';
import { createProcessChannel, type IpcEndpoint } from '../../workers/ipc.js';
import { createLogger } from '../../workers/log.js';

const beat: WorkerMessageInput = { type: 'coord:heartbeat', workerId: 'w1', sentAt: 1, running: [], rssBytes: 1 };

function capture(): { lines: string[]; logger: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  return { lines, logger: createLogger({}, (line) => lines.push(line)) };
}

describe('createProcessChannel', () => {
  it('sends, and flush waits for the send callbacks', async () => {
    const callbacks: Array<(error: Error | null) => void> = [];
    const sent: unknown[] = [];
    const endpoint: IpcEndpoint = { connected: true, send: (message, callback) => {
      sent.push(message);
      callbacks.push(callback);
      return true;
    } };
    const { logger } = capture();
    const channel = createProcessChannel(logger, endpoint);
    channel.send(beat);
    let flushed = false;
    const flush = channel.flush(5_000).then(() => {
      flushed = true;
    });
    await Promise.resolve();
    expect(flushed).toBe(false);
    callbacks[0]?.(null);
    await flush;
    expect(flushed).toBe(true);
    expect(sent).toEqual([beat]);
  });

  it('drops messages when disconnected and never throws', async () => {
    const { lines, logger } = capture();
    const throwing: IpcEndpoint = { connected: true, send: () => {
      throw new Error('channel closed');
    } };
    createProcessChannel(logger, { connected: false, send: () => true }).send(beat);
    const channel = createProcessChannel(logger, throwing);
    expect(() => channel.send(beat)).not.toThrow();
    await channel.flush(1_000);
    expect(lines.some((line) => line.includes('IPC send threw'))).toBe(true);
  });

  it('logs a malformed outgoing message', () => {
    const { lines, logger } = capture();
    createProcessChannel(logger, { connected: true, send: (_message, callback) => {
      callback(null);
      return true;
    } }).send({ type: 'coord:heartbeat', workerId: 'not a valid id!', sentAt: 1, running: [], rssBytes: 1 });
    expect(lines.some((line) => line.includes('does not match the protocol'))).toBe(true);
  });
});
