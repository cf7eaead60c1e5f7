import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocketServer } from 'ws';
import { createSupervisor, type Supervisor } from '../../src/index.js';
import { makeRepo, type TempRepo } from '../helpers/git-repo.js';

let repo: TempRepo | undefined;
let supervisor: Supervisor | undefined;
let server: WebSocketServer | undefined;
afterEach(async () => {
  if (supervisor && !['stopped', 'failed'].includes(supervisor.status().state)) await supervisor.stop();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  repo?.cleanup();
});

describe('the bridge to Stately\'s inspector', () => {
  it('sends Stately inspection events (not coord\'s markers) to a @statelyai/inspect WebSocket server', async () => {
    server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => server?.once('listening', () => resolve()));
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const received: Array<{ type: string; name?: string }> = [];
    server.on('connection', (socket) => socket.on('message', (data) => received.push(JSON.parse(String(data)) as { type: string; name?: string })));
    repo = makeRepo();
    supervisor = createSupervisor({ repo: repo.repo, stateDir: repo.stateDir, worktreeRoot: repo.worktreeRoot, workers: 1, inspectBridge: `ws://127.0.0.1:${port}` });
    await supervisor.start();
    await vi.waitFor(() => expect(received.some((m) => m.type === '@xstate.actor' && m.name === 'w1')).toBe(true), { timeout: 10_000, interval: 50 });
    expect(received.some((m) => m.type === '@xstate.actor' && m.name === 'coordinator')).toBe(true);
    expect(received.every((m) => m.type.startsWith('@xstate.'))).toBe(true);
    await supervisor.drain();
  });
});
