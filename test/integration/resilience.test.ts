/**
 * Workers crash, hang and crash-loop; tasks kill their own worker. Real forked workers, real
 * PTYs, a real repository.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from 'xstate';
import { createSupervisor, type Supervisor, type SupervisorOptions } from '../../src/index.js';
import { entryFor } from '../../src/pool/worker-entry.js';
import { ROOT } from '../helpers/cli.js';
import { isAlive, makeRepo, type TempRepo } from '../helpers/git-repo.js';

let repo: TempRepo;
let supervisor: Supervisor | undefined;
afterEach(async () => {
  if (supervisor && !['stopped', 'failed'].includes(supervisor.status().state)) await supervisor.stop();
  supervisor = undefined;
  for (const name of ['CRASH_LOG', 'HANG_MARKER']) delete process.env[name];
  repo?.cleanup();
});

function create(extra: Partial<SupervisorOptions> = {}): Supervisor {
  supervisor = createSupervisor({
    repo: repo.repo,
    workers: 4,
    stateDir: repo.stateDir,
    worktreeRoot: repo.worktreeRoot,
    heartbeatMs: 200,
    ...extra,
  });
  return supervisor;
}

const fixture = (name: string) => entryFor(path.join(ROOT, 'test', 'fixtures', name));
const noBackoff = { initialMs: 0, maxMs: 0, factor: 1 };

describe('resilience', () => {
  it('chaos: SIGKILL a random worker every ~150 ms; every task completes exactly once', { timeout: 180_000 }, async () => {
    repo = makeRepo();
    // The built orchestrator: forking it through the TypeScript loader costs ~10x more per
    // restart, and this test restarts workers dozens of times. The default restart intensity:
    // kills of busy workers are charged to their tasks, and a worker killed idle too often
    // cools down and comes back. Short restart delays only keep the run quick.
    const s = create({
      workerEntry: entryFor(path.join(ROOT, 'dist', 'workers', 'orchestrator.js')),
      restart: { initialDelayMs: 20, maxDelayMs: 200 },
    });
    s.events.on('coord:complete', () => {
      if (process.env.CHAOS_DEBUG && completions.size % 20 === 0) console.log(new Date().toISOString(), completions.size, s.status().counts);
    });
    const completions = new Map<string, number>();
    s.events.on('coord:complete', ({ taskId }) => completions.set(taskId, (completions.get(taskId) ?? 0) + 1));
    await s.start();
    const ids = Array.from({ length: 200 }, (_, i) => `t${i}`);
    await s.submit(ids.map((id) => ({ id, run: ['true'], maxAttempts: 50, backoff: noBackoff })));
    let kills = 0;
    // Kills for a fixed window, not until the end: on a slow machine a fixed kill rate could
    // otherwise outpace the work and the run would never finish.
    const chaosEnds = Date.now() + 6_000;
    const chaos = setInterval(() => {
      if (Date.now() > chaosEnds) return;
      const live = s.status().workers.filter((w) => w.pid !== null && w.state !== 'restarting');
      const victim = live[Math.floor(Math.random() * live.length)];
      if (victim?.pid) {
        try {
          process.kill(victim.pid, 'SIGKILL');
          kills += 1;
        } catch {
          // already gone
        }
      }
    }, 150);
    await s.settled();
    clearInterval(chaos);
    const summary = (await s.summary());
    expect(summary.tasks.filter((t) => t.status !== 'complete').map((t) => `${t.id}:${t.status}`)).toEqual([]);
    expect([...completions.values()].every((n) => n === 1)).toBe(true);
    expect(completions.size).toBe(200);
    const restarts = summary.workers.reduce((sum, w) => sum + w.restarts, 0);
    expect(kills).toBeGreaterThan(3);
    expect(restarts).toBeGreaterThan(0);
    expect(restarts).toBeLessThanOrEqual(kills);
    const crashed = summary.tasks.flatMap((t) => t.history).filter((a) => a.code === 'WORKER_CRASHED');
    expect(crashed.length).toBeLessThanOrEqual(kills);
    await s.drain();
    expect(s.status().state).toBe('stopped');
  });

  it('a task that kills its own worker every time ends dead with a crash reason; the rest complete', async () => {
    repo = makeRepo();
    const s = create({ workers: 2 });
    await s.start();
    await s.submit([
      { id: 'assassin', run: ['sh', '-c', 'kill -9 $PPID; sleep 5'], maxAttempts: 3, backoff: noBackoff },
      ...Array.from({ length: 6 }, (_, i) => ({ id: `ok${i}`, run: ['true'] })),
    ]);
    await s.settled();
    const summary = (await s.summary());
    const assassin = summary.tasks.find((t) => t.id === 'assassin');
    expect(assassin?.status).toBe('dead');
    expect(assassin?.error?.code).toBe('WORKER_CRASHED');
    expect(assassin?.history.map((a) => a.code)).toEqual(['WORKER_CRASHED', 'WORKER_CRASHED', 'WORKER_CRASHED']);
    expect(summary.tasks.filter((t) => t.id.startsWith('ok')).every((t) => t.status === 'complete')).toBe(true);
    expect(s.status().state).toBe('running');
    expect(summary.workers.reduce((sum, w) => sum + w.restarts, 0)).toBe(3);
  });

  it('replaces a worker that stops heartbeating and completes its task', async () => {
    repo = makeRepo();
    process.env.HANG_MARKER = path.join(repo.dir, 'hung');
    const s = create({ workers: 2, workerEntry: fixture('worker-hang.ts') });
    const hung: string[] = [];
    s.events.on('coord:worker-hung', ({ workerId }) => hung.push(workerId));
    await s.start();
    await s.submit([{ id: 'victim', run: ['true'], backoff: noBackoff }]);
    await s.settled();
    const victim = (await s.summary()).tasks[0];
    expect(existsSync(process.env.HANG_MARKER)).toBe(true);
    const hungPid = Number(readFileSync(process.env.HANG_MARKER, 'utf8'));
    expect(isAlive(hungPid)).toBe(false);
    expect(hung).toHaveLength(1);
    expect(victim?.status).toBe('complete');
    expect(victim?.history.map((a) => a.code)).toEqual(['WORKER_HUNG', null]);
  });

  it('a worker that crashes on every start reaches failed under the intensity limit, without a fork storm', async () => {
    repo = makeRepo();
    const crashLog = path.join(repo.dir, 'crashes');
    process.env.CRASH_LOG = crashLog;
    const s = create({ workers: 1, workerEntry: fixture('worker-crash.ts'), restart: { maxRestarts: 3, periodMs: 60_000, initialDelayMs: 10 } });
    const failed: string[] = [];
    s.events.on('coord:worker-failed', ({ workerId }) => failed.push(workerId));
    await s.start();
    await s.settled();
    // The coordinator actor ends once every worker has failed; its end stops every child.
    await waitFor(s.actor, (snapshot) => snapshot.status === 'done', { timeout: 30_000 });
    expect(s.status().state).toBe('failed');
    expect(failed).toEqual(['w1']);
    expect((await s.summary()).coordinator.error?.code).toBe('ALL_WORKERS_FAILED');
    // No more forks can follow: w1 is in its final `failed` state, which keeps no restart
    // timer (only `restarting` and `coolingDown` do), and a worker forks only on entering
    // `spawning`. It got there from the exit of its fourth process, and each process logs
    // its start before it exits: the first start plus exactly maxRestarts restarts.
    expect(s.status().workers).toMatchObject([{ id: 'w1', state: 'failed', restarts: 3 }]);
    expect(readFileSync(crashLog, 'utf8').trim().split('\n')).toHaveLength(4);
  });
});
