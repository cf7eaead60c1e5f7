/**
 * Crashes are charged to what caused them: a task that kills its worker uses up its own
 * attempts, not the worker's restart intensity; a worker slot that does crash-loop cools
 * down instead of failing for good; and a worker program that cannot start at all still
 * ends the run with `ALL_WORKERS_FAILED`. Real forked workers, real PTYs, a real repository,
 * and the default restart policy throughout.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { waitFor } from 'xstate';
import { afterEach, describe, expect, it } from 'vitest';
import { createSupervisor, type Supervisor, type SupervisorOptions } from '../../src/index.js';
import { entryFor } from '../../src/pool/worker-entry.js';
import { ROOT } from '../helpers/cli.js';
import { makeRepo, type TempRepo } from '../helpers/git-repo.js';

let repo: TempRepo;
let supervisor: Supervisor | undefined;
afterEach(async () => {
  if (supervisor && !['stopped', 'failed'].includes(supervisor.status().state)) await supervisor.stop();
  supervisor = undefined;
  for (const name of ['CRASH_LOG', 'FLAKY_LOG', 'FLAKY_STARTS']) delete process.env[name];
  repo?.cleanup();
});

// The built orchestrator: these tests restart workers dozens of times, and forking through
// the TypeScript loader costs ~10x more per start.
const built = entryFor(path.join(ROOT, 'dist', 'workers', 'orchestrator.js'));
const noBackoff = { initialMs: 0, maxMs: 0, factor: 1 };

function create(extra: Partial<SupervisorOptions> = {}): Supervisor {
  supervisor = createSupervisor({
    repo: repo.repo,
    workers: 4,
    stateDir: repo.stateDir,
    worktreeRoot: repo.worktreeRoot,
    heartbeatMs: 200,
    workerEntry: built,
    ...extra,
  });
  return supervisor;
}

describe('crash attribution', () => {
  it('8 poison tasks among 100 die of their own crashes; the workers they kill run the other 92', { timeout: 180_000 }, async () => {
    repo = makeRepo();
    const ppidLog = path.join(repo.dir, 'ppids');
    const s = create();
    const workerPids = new Set<number>();
    s.events.on('coord:worker-ready', ({ pid }) => workerPids.add(pid));
    await s.start();
    const ids = Array.from({ length: 100 }, (_, i) => `t${i}`);
    const poison = new Set(ids.filter((_, i) => i % 12 === 5)); // t5, t17, … spread through the queue
    expect(poison.size).toBe(8);
    // Under node-pty the task's shell is a direct child of the worker orchestrator, so $PPID
    // is the worker: each poison attempt kills the very worker that runs it.
    const assassin = ['sh', '-c', 'echo $PPID >> "$PPID_LOG"; kill -9 $PPID; sleep 5'];
    await s.submit(
      ids.map((id) =>
        poison.has(id)
          ? { id, run: assassin, env: { PPID_LOG: ppidLog }, backoff: noBackoff }
          : { id, run: ['true'], backoff: noBackoff },
      ),
    );
    await s.settled();
    const summary = await s.summary();
    const byStatus = (status: string) => summary.tasks.filter((t) => t.status === status).map((t) => t.id);

    expect(summary.tasks.filter((t) => !poison.has(t.id) && t.status !== 'complete').map((t) => `${t.id}:${t.status}`)).toEqual([]);
    expect(byStatus('complete')).toHaveLength(92);
    expect(new Set(byStatus('dead'))).toEqual(poison);
    for (const id of poison) {
      const task = summary.tasks.find((t) => t.id === id);
      expect(task?.error?.code).toBe('WORKER_CRASHED');
      expect(task?.history.map((a) => a.code)).toEqual(['WORKER_CRASHED', 'WORKER_CRASHED', 'WORKER_CRASHED']);
    }
    // Every poison attempt killed a worker, and the pid it killed was a worker's.
    const killed = readFileSync(ppidLog, 'utf8').trim().split('\n').map(Number);
    expect(killed).toHaveLength(24);
    expect(killed.every((pid) => workerPids.has(pid))).toBe(true);
    expect(summary.workers.reduce((sum, w) => sum + w.restarts, 0)).toBe(24);
    expect(summary.workers.map((w) => w.state).filter((state) => state === 'failed')).toEqual([]);
    expect(s.status().state).toBe('running');
    await s.drain();
    expect(s.status().state).toBe('stopped');
  });

  it('SIGKILL of a random live worker every 300 ms for 10 s: all 150 tasks complete, exactly once', { timeout: 240_000 }, async () => {
    repo = makeRepo();
    const s = create();
    const completions = new Map<string, number>();
    s.events.on('coord:complete', ({ taskId }) => completions.set(taskId, (completions.get(taskId) ?? 0) + 1));
    await s.start();
    const ids = Array.from({ length: 150 }, (_, i) => `t${i}`);
    // A kill that lands on a busy worker is charged to the task it was running (WORKER_CRASHED),
    // by design: ~33 random kills can hit one task several times, and this test is about the
    // workers surviving, so the tasks get a budget no run of bad luck can exhaust.
    // Each task sleeps a little so the work outlasts the kill window: kills land on busy and
    // idle workers alike, and the run must go on through all of them.
    await s.submit(ids.map((id) => ({ id, run: ['sleep', '0.2'], maxAttempts: 30, backoff: noBackoff })));
    let kills = 0;
    // Kills for a fixed window, not until the end: the default restart policy must survive
    // the whole window even when the tasks finish first and every kill lands on an idle worker.
    const chaosEnds = Date.now() + 10_000;
    const chaosOver = new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        if (Date.now() > chaosEnds) {
          clearInterval(timer);
          resolve();
          return;
        }
        const live = s.status().workers.filter((w) => w.pid !== null);
        const victim = live[Math.floor(Math.random() * live.length)];
        if (!victim?.pid) return;
        try {
          process.kill(victim.pid, 'SIGKILL');
          kills += 1;
        } catch {
          // already gone
        }
      }, 300);
    });
    await Promise.all([s.settled(), chaosOver]);
    const summary = await s.summary();
    expect(summary.tasks.filter((t) => t.status !== 'complete').map((t) => `${t.id}:${t.status}`)).toEqual([]);
    expect(completions.size).toBe(150);
    expect([...completions.values()].every((n) => n === 1)).toBe(true);
    expect(kills).toBeGreaterThan(10);
    const crashed = summary.tasks.flatMap((t) => t.history).filter((a) => a.code === 'WORKER_CRASHED');
    expect(crashed.length).toBeLessThanOrEqual(kills);
    expect(summary.workers.filter((w) => w.state === 'failed')).toEqual([]);
    expect(s.status().state).toBe('running');
    await s.drain();
    expect(s.status().state).toBe('stopped');
  });

  it('a worker that keeps dying idle right after ready cools down, then comes back and runs the work', { timeout: 60_000 }, async () => {
    repo = makeRepo();
    process.env.FLAKY_LOG = path.join(repo.dir, 'flaky');
    process.env.FLAKY_STARTS = '2';
    // One unstable restart allowed: the first death restarts, the second cools down.
    const s = create({ workers: 1, workerEntry: entryFor(path.join(ROOT, 'test', 'fixtures', 'worker-flaky.ts')), restart: { maxRestarts: 1, initialDelayMs: 10, initialCoolDownMs: 300 } });
    const failed: string[] = [];
    s.events.on('coord:worker-failed', ({ workerId }) => failed.push(workerId));
    const cooling = new Promise<{ workerId: string; coolDown: number; delayMs: number }>((resolve) => s.events.once('coord:worker-cooling', resolve));
    await s.start();
    // If the slot failed instead, the run ends: say so rather than wait for the test timeout.
    const ended = waitFor(s.actor, (snapshot) => snapshot.status === 'done', { timeout: Infinity }).then((snapshot) => {
      throw new Error(`the run ended (${snapshot.context.error?.code ?? 'no error'}) before any cool-down`);
    });
    ended.catch(() => {}); // it ends at the latest when the test stops it; only a race it wins matters
    expect(await Promise.race([cooling, ended])).toMatchObject({ workerId: 'w1', coolDown: 1, delayMs: 300 });
    // Submitted only now, so the flaky deaths above were idle ones, the worker's own fault.
    await s.submit([{ id: 'after-cool-down', run: ['true'] }]);
    await s.settled();
    const summary = await s.summary();
    expect(summary.tasks.map((t) => `${t.id}:${t.status}`)).toEqual(['after-cool-down:complete']);
    expect(failed).toEqual([]);
    expect(summary.workers[0]?.restarts).toBe(2);
    expect(s.status().state).toBe('running');
  });

  it('a worker program that never starts still ends the run with ALL_WORKERS_FAILED, without cooling down', { timeout: 60_000 }, async () => {
    repo = makeRepo();
    const crashLog = path.join(repo.dir, 'crashes');
    process.env.CRASH_LOG = crashLog;
    // The default restart policy; `random: () => 0` only pins each jittered delay to the
    // initial one, so the run takes ~1 s instead of up to ~25 s.
    const s = create({ workerEntry: entryFor(path.join(ROOT, 'test', 'fixtures', 'worker-crash.ts')), random: () => 0 });
    const failed: string[] = [];
    const cooling: string[] = [];
    s.events.on('coord:worker-failed', ({ workerId }) => failed.push(workerId));
    s.events.on('coord:worker-cooling', ({ workerId }) => cooling.push(workerId));
    await s.start();
    await waitFor(s.actor, (snapshot) => snapshot.status === 'done', { timeout: 50_000 });
    expect(s.status().state).toBe('failed');
    expect((await s.summary()).coordinator.error?.code).toBe('ALL_WORKERS_FAILED');
    expect(failed.sort()).toEqual(['w1', 'w2', 'w3', 'w4']);
    expect(cooling).toEqual([]);
    // Each slot: its first start plus the default 5 restarts, then failed. The run is over
    // (every worker actor is stopped), so no further fork can happen.
    expect(readFileSync(crashLog, 'utf8').trim().split('\n')).toHaveLength(4 * 6);
  });
});
