/**
 * Pools through the programmatic API, as an operator server embeds coord: `waitForPool`
 * before routing work, tasks routed to their agent's pool, a pool's env reaching its tasks,
 * tasks no pool could run refused at submission, and a run whose every setup fails stopping
 * with SETUP_FAILED. Real forked workers, real git worktrees.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { supervisorFixture } from '../helpers/supervisor.js';

const fixture = supervisorFixture();
const create = fixture.create;

describe('pools in createSupervisor', () => {
  it('waitForPool resolves once the setup is done; tasks go to their agent\'s pool with its env', async () => {
    const repo = fixture.repo({ 'README.md': '# api\n', '.gitignore': 'ready.flag\n' });
    const gate = path.join(repo.dir, 'gate');
    const s = create({
      agents: { shell: { command: 'sh', args: ['-c', '{prompt}'] } },
      pools: [
        { id: 'plain', workers: 1, env: { WHERE: 'plain' } },
        { id: 'agents', workers: 1, agent: 'shell', env: { WHERE: 'agents' }, setup: ['sh', '-c', `while [ ! -f ${gate} ]; do sleep 0.05; done; touch ready.flag`] },
      ],
    });
    await s.start();
    const waited: string[] = [];
    const waiting = s.waitForPool('agents', { pollMs: 20 }).then((status) => {
      waited.push('ready');
      return status;
    });
    await expect(s.waitForPool('plain', { pollMs: 20 })).resolves.toMatchObject({ id: 'plain', ready: true });
    expect(s.pool('agents')).toMatchObject({ ready: false, workers: { total: 1, ready: 0 } });
    expect(s.status().workers.map((w) => [w.id, w.pool, w.state])).toEqual([['w1', 'plain', 'idle'], ['w2', 'agents', 'setup']]);
    expect(waited).toEqual([]);
    await expect(s.waitForPool('agents', { pollMs: 20, timeoutMs: 50 })).rejects.toMatchObject({ code: 'POOL_NOT_READY' });
    expect(() => s.pool('nope')).toThrow(expect.objectContaining({ code: 'POOL_NOT_FOUND' }));

    writeFileSync(gate, '');
    await expect(waiting).resolves.toMatchObject({ id: 'agents', ready: true, workers: { total: 1, ready: 1, busy: 0 } });
    expect(readFileSync(path.join(repo.worktreeRoot, 'w2', 'ready.flag'), 'utf8')).toBe('');

    await s.submit([
      { id: 'plain-task', run: ['sh', '-c', 'echo "$WHERE" > where.txt'] },
      { id: 'agent-task', agent: 'shell', prompt: 'echo "$WHERE" > where.txt' },
    ]);
    await s.settled();
    const { tasks } = await s.summary();
    expect(tasks.map((t) => [t.id, t.status, t.worker])).toEqual([['plain-task', 'complete', 'w1'], ['agent-task', 'complete', 'w2']]);
    expect(repo.git('show', 'coord/plain-task:where.txt')).toBe('plain');
    expect(repo.git('show', 'coord/agent-task:where.txt')).toBe('agents');

    // Nothing declared could run these: refused whole, before anything is stored.
    await expect(s.submit([{ id: 'gpu', needs: ['cuda'], run: ['true'] }])).rejects.toMatchObject({ code: 'TASK_UNSATISFIABLE' });
    await expect(s.setWorkers(3)).rejects.toMatchObject({ code: 'USAGE' });
  }, 60_000);

  it('a run whose every setup fails stops with SETUP_FAILED and the log that says why', async () => {
    const repo = fixture.repo();
    const s = create({ pools: [{ id: 'broken', workers: 2, setup: ['sh', '-c', 'echo cannot install >&2; exit 1'] }] });
    const failed = new Promise<void>((resolve) => s.events.on('coord:state', ({ state }) => state === 'failed' && resolve()));
    await s.start();
    await failed;
    const summary = await s.summary();
    expect(summary.coordinator.state).toBe('failed');
    expect(summary.coordinator.error).toMatchObject({ code: 'SETUP_FAILED' });
    const logFile = path.join(repo.stateDir, 'logs', 'setup', 'w1.log');
    expect(summary.coordinator.error?.message).toContain('.log');
    expect(readFileSync(logFile, 'utf8')).toContain('cannot install');
  }, 60_000);
});
