/**
 * `coord watch --machines` against a stand-in daemon that speaks the `inspect` stream as the
 * client assumes it: the request `{"id":1,"cmd":"inspect"}` on the socket, answered like
 * `subscribe` (`{"id":1,"ok":true,…}`), then one `InspectMessage` JSON per line. The real
 * daemon side is built separately; this pins down what the client expects of it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { watchCommand } from '../../src/cli/client-commands.js';
import type { Out } from '../../src/cli/store-commands.js';
import { isCoordError } from '../../src/errors.js';
import { INSPECT_PROTOCOL_VERSION, type InspectMessage } from '../../src/inspect/types.js';

let dir: string;
let server: net.Server | undefined;
let connections: net.Socket[] = [];
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'coord-inspect-'));
});
afterEach(async () => {
  for (const socket of connections) socket.destroy();
  connections = [];
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

const common = (sessionId: string, n: number) => ({ sessionId, rootId: 'x:0', createdAt: String(1_700_000_000_000 + n), id: `m${n}`, _version: INSPECT_PROTOCOL_VERSION });

const STREAM: InspectMessage[] = [
  { type: '@xstate.actor', ...common('x:0', 1), name: 'coordinator', parentId: undefined, definition: '{"id":"coordinator"}', snapshot: { status: 'active', value: 'running' } },
  { type: '@xstate.actor', ...common('x:3', 2), name: 'w1', parentId: 'x:0', definition: '{"id":"worker"}', snapshot: { status: 'active', value: 'busy' } },
  { type: 'coord.replayed', actors: 2 },
  { type: '@xstate.event', ...common('x:3', 3), sourceId: 'x:4', event: { type: 'process.exited', code: null, signal: 'SIGKILL', at: 5 } },
  { type: '@xstate.snapshot', ...common('x:3', 4), snapshot: { status: 'active', value: 'restarting' }, event: { type: 'process.exited', code: null, signal: 'SIGKILL', at: 5 } },
  { type: 'coord.dropped', count: 3 },
];

/** A daemon that answers `inspect` (before or after sending the stream), or refuses it as an unknown command. */
function standIn(mode: 'answer-first' | 'stream-first' | 'unknown'): Promise<string[]> {
  const requests: string[] = [];
  const socketPath = path.join(dir, 'coord.sock');
  server = net.createServer((socket) => {
    connections.push(socket);
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        requests.push(line);
        const { id } = JSON.parse(line) as { id: number };
        if (mode === 'unknown') {
          socket.write(`${JSON.stringify({ id, ok: false, error: { code: 'BAD_REQUEST', message: 'unknown command "inspect": one of status, subscribe' } })}\n`);
          continue;
        }
        const answer = `${JSON.stringify({ id, ok: true, data: null })}\n`;
        const stream = STREAM.map((message) => `${JSON.stringify(message)}\n`).join('');
        socket.end(mode === 'answer-first' ? answer + stream : stream + answer);
      }
    });
  });
  return new Promise((resolve) => server?.listen(socketPath, () => resolve(requests)));
}

function capture(): Out & { text: () => string } {
  let text = '';
  return { out: (chunk) => void (text += chunk), err: () => undefined, text: () => text };
}

describe('coord watch --machines', () => {
  it.each(['answer-first', 'stream-first'] as const)('asks for the inspect stream and prints the actors\' lines (%s)', async (mode) => {
    const requests = await standIn(mode);
    const io = capture();
    expect(await watchCommand({ stateDir: dir, machines: true }, io)).toBe(0);
    expect(requests.map((line) => JSON.parse(line))).toEqual([{ id: 1, cmd: 'inspect' }]);
    expect(io.text()).toBe([
      'coordinator in running',
      'w1 in busy',
      'w1 busy → restarting (process.exited SIGKILL)',
      'warning: 3 inspection messages dropped (this watch fell behind); catching up',
      '',
    ].join('\n'));
  });

  it('--json: the messages as they come, one per line', async () => {
    await standIn('answer-first');
    const io = capture();
    await watchCommand({ stateDir: dir, machines: true, json: true }, io);
    expect(io.text().trimEnd().split('\n').map((line) => JSON.parse(line))).toEqual(JSON.parse(JSON.stringify(STREAM)));
  });

  it('a daemon without the inspect command: its refusal, as a coord error, and the connection closed', async () => {
    await standIn('unknown');
    const error = await watchCommand({ stateDir: dir, machines: true }, capture()).catch((caught: unknown) => caught);
    expect(isCoordError(error) && error.code).toBe('BAD_REQUEST');
    const [socket] = connections;
    const ended = new Promise<void>((resolve) => (socket?.readableEnded ? resolve() : socket?.once('end', () => resolve())));
    await Promise.race([ended, new Promise((resolve) => setTimeout(resolve, 2_000))]);
    expect(socket?.readableEnded).toBe(true);
  });

  it('no daemon: DAEMON_NOT_RUNNING, as for the events', async () => {
    const error = await watchCommand({ stateDir: dir, machines: true }, capture()).catch((caught: unknown) => caught);
    expect(isCoordError(error) && error.code).toBe('DAEMON_NOT_RUNNING');
  });
});
