/**
 * A running supervisor changed without a restart, with real forked workers: the worker count
 * up and down (a busy worker scaled away finishes its task first), cancelling a running task
 * (its process stops, its dependents are blocked), and live settings (log level, attempts).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createSupervisor, type Supervisor } from '../../src/index.js';
import { isAlive, makeRepo, type TempRepo } from '../helpers/git-repo.js';

let repo: TempRepo;
let supervisor: Supervisor | undefined;
afterEach(async () => {
  if (supervisor && !['stopped', 'failed'].includes(supervisor.status().state)) await supervisor.stop();
  supervisor = undefined;
  repo?.cleanup();
});

function create(workers: number): Supervisor {
  supervisor = createSupervisor({ repo: repo.repo, workers, stateDir: repo.stateDir, worktreeRoot: repo.worktreeRoot, heartbeatMs: 200 });
  return supervisor;
}

const ready = (s: Supervisor) => s.status().workers.filter((w) => w.state === 'idle' || w.state === 'busy').map((w) => w.id);

describe('live changes', () => {
  it('scales workers up and down; a busy worker scaled away finishes its task, then leaves', async () => {
    repo = makeRepo();
    const s = create(2);
    await s.start();
    const scaled: unknown[] = [];
    s.events.on('coord:workers-scaled', (e) => scaled.push(e));
    const up = await s.setWorkers(4);
    expect(up).toEqual({ from: 2, to: 4, added: ['w3', 'w4'], removed: [] });
    await vi.waitFor(() => expect(ready(s).sort()).toEqual(['w1', 'w2', 'w3', 'w4']), { timeout: 20_000 });

    // Every worker busy with a task that waits for a file, then scale to 1.
    const gate = path.join(repo.dir, 'gate');
    await s.submit(['a', 'b', 'c', 'd'].map((id) => ({ id, run: ['sh', '-c', `while [ ! -e ${gate} ]; do sleep 0.05; done; echo ${id} > ${id}.txt`] })));
    await vi.waitFor(() => expect(s.status().workers.filter((w) => w.task !== null)).toHaveLength(4), { timeout: 20_000 });
    const down = await s.setWorkers(1);
    expect(down.from).toBe(4);
    expect(down.to).toBe(1);
    expect(down.removed).toHaveLength(3);
    // The dismissed ones are still there, still busy: nothing was killed.
    const leaving = s.status().workers.filter((w) => w.leaving);
    expect(leaving.map((w) => w.id).sort()).toEqual([...down.removed].sort());
    expect(leaving.every((w) => w.task !== null && w.pid !== null && isAlive(w.pid))).toBe(true);
    writeFileSync(gate, '');
    await s.settled();
    expect(s.status().counts).toMatchObject({ complete: 4 });
    await vi.waitFor(() => expect(s.status().workers.map((w) => w.id)).toHaveLength(1), { timeout: 20_000 });
    expect(s.actor.getSnapshot().context.workers).toHaveLength(1);
    expect(scaled).toHaveLength(2);

    // Back up: the ids freed are used again, with their worktrees.
    const again = await s.setWorkers(3);
    expect(again.added).toHaveLength(2);
    await vi.waitFor(() => expect(ready(s)).toHaveLength(3), { timeout: 20_000 });
    await s.submit([{ id: 'after', run: ['sh', '-c', 'echo ok'] }]);
    await s.settled();
    expect(s.status().counts).toMatchObject({ complete: 5 });
    await expect(s.setWorkers(0)).rejects.toMatchObject({ code: 'USAGE' });
    await s.drain();
  });

  it('cancels a running task: its process stops, its dependents are blocked; a finished one is a conflict', async () => {
    repo = makeRepo();
    const s = create(1);
    await s.start();
    const pidFile = path.join(repo.dir, 'pid');
    await s.submit([
      { id: 'long', run: ['sh', '-c', `echo $$ > ${pidFile}; exec sleep 60`] },
      { id: 'after', deps: ['long'], run: ['true'] },
      { id: 'done', run: ['true'] },
    ]);
    await vi.waitFor(() => expect(s.status().workers[0]?.task).toBe('long'), { timeout: 20_000 });
    await vi.waitFor(() => expect(readFileSync(pidFile, 'utf8').trim()).toMatch(/^\d+$/), { timeout: 20_000 });
    const pid = Number(readFileSync(pidFile, 'utf8'));
    const cancelled = new Promise((resolve) => s.events.once('coord:cancelled', resolve));
    expect((await s.cancel('long')).sort()).toEqual(['after', 'long']);
    expect(await cancelled).toEqual({ taskId: 'long', changed: expect.arrayContaining(['long', 'after']) });
    await vi.waitFor(() => expect(isAlive(pid)).toBe(false), { timeout: 20_000 });
    await s.settled();
    const summary = await s.summary();
    const status = Object.fromEntries(summary.tasks.map((t) => [t.id, t.status]));
    expect(status).toEqual({ long: 'cancelled', after: 'blocked', done: 'complete' });
    await expect(s.cancel('done')).rejects.toMatchObject({ code: 'TASK_STATE_CONFLICT' });
    await expect(s.cancel('nope')).rejects.toMatchObject({ code: 'TASK_NOT_FOUND' });
    await s.drain();
  });

  it('counts a cancelled task at once in status, with nothing else happening after it', async () => {
    repo = makeRepo();
    const s = create(1);
    await s.start();
    await s.submit([{ id: 'long', run: ['sleep', '60'] }]);
    await vi.waitFor(() => expect(s.status().counts).toMatchObject({ running: 1 }), { timeout: 20_000 });
    await s.cancel('long');
    // No task event follows a cancel (the stopped attempt's late result is stale): the counts must follow the cancel itself.
    await vi.waitFor(() => expect(s.status().counts).toMatchObject({ running: 0, assigned: 0, cancelled: 1 }), { timeout: 5_000 });
    await s.drain();
  });

  it('applies live settings: the log level at once, the attempt limit at the next failure', async () => {
    repo = makeRepo();
    const s = create(1);
    await s.start();
    const log = s.status().paths?.logFile as string;
    const result = await s.reconfigure({ logLevel: 'debug', maxAttempts: 2 });
    expect(result.applied.sort()).toEqual(['logLevel', 'maxAttempts']);
    await s.submit([{ id: 'flaky', run: ['sh', '-c', 'exit 3'], backoff: { initialMs: 10, maxMs: 10, factor: 1 } }]);
    await s.settled();
    const [task] = (await s.summary()).tasks;
    expect(task?.status).toBe('dead');
    expect(task?.attempts).toBe(2); // the default was 3 at start; the new limit applied
    await s.drain();
    const lines = readFileSync(log, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as { level: number; msg: string });
    expect(lines.some((line) => line.level === 20)).toBe(true); // debug lines after the change
    expect(lines.some((line) => line.msg.startsWith('reconfigured: logLevel, maxAttempts'))).toBe(true);
  });
});
