/**
 * 7. Recovery: from `kill -9` of a busy worker to its task running again on another worker,
 * against the time to fork a trivial child until its first IPC message, measured in the
 * same run.
 *
 * One long task (`sleep 600`, `maxAttempts` 100, zero backoff) runs on one of 4 workers.
 * The benchmark kills the worker holding it with SIGKILL and times the task's next
 * `coord:started` (the new attempt's process was spawned); then it waits until the killed
 * worker has been restarted (workers restart with zero delay here) and kills again, so one
 * supervisor run yields every sample.
 *
 * Run: npm run bench -- recovery
 */
import { performance } from 'node:perf_hooks';
import type { SupervisorEventName, SupervisorEvents } from '../src/supervisor/events.js';
import { loadCoord } from './lib/coord.js';
import { forkToFirstMessage } from './lib/proc.js';
import { makeRepo } from './lib/repo.js';
import { Report } from './lib/report.js';
import { fmt, range, ratio, summarize, type Summary } from './lib/stats.js';

const WORKERS = 4;
const KILLS = 25;
const TASK_ID = 'long-task';

const coord = await loadCoord();
const report = new Report('recovery', '7. Recovery');
const scratch = makeRepo(1);
const supervisor = coord.createSupervisor({
  repo: scratch.repo,
  workers: WORKERS,
  worktreeRoot: scratch.worktreeRoot,
  stateDir: scratch.stateDir,
  maxAttempts: 100,
  restart: { maxRestarts: 1_000, periodMs: 60_000, initialDelayMs: 0, maxDelayMs: 0 },
});

/** Resolves with the first event payload `name` that satisfies `match`, or rejects after `timeoutMs`. */
function nextEvent<K extends SupervisorEventName>(
  name: K,
  match: (payload: SupervisorEvents[K]) => boolean,
  timeoutMs = 20_000,
): Promise<SupervisorEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      supervisor.events.off(name, listener);
      reject(new Error(`no ${name} within ${timeoutMs} ms (status: ${JSON.stringify(supervisor.status())})`));
    }, timeoutMs);
    const listener = (payload: SupervisorEvents[K]): void => {
      if (!match(payload)) return;
      clearTimeout(timer);
      supervisor.events.off(name, listener);
      resolve(payload);
    };
    supervisor.events.on(name, listener);
  });
}

interface Sample {
  /** kill → the supervisor saw the worker exit */
  exited: number;
  /** kill → the task's next attempt was assigned */
  assigned: number;
  /** kill → the next attempt's process was spawned (coord:started) */
  running: number;
  /** kill → the killed worker was ready again */
  restarted: number;
  otherWorker: boolean;
}

const samples: Sample[] = [];
const forks: number[] = [];
let deadReason: string | null = null;
supervisor.events.on('coord:dead', (e) => {
  deadReason = `${e.error.code}: ${e.error.message}`;
});
try {
  const allReady = Promise.all(Array.from({ length: WORKERS }, (_, i) => nextEvent('coord:worker-ready', (e) => e.workerId === `w${i + 1}`)));
  await supervisor.start();
  await allReady;
  let started = nextEvent('coord:started', (e) => e.taskId === TASK_ID);
  await supervisor.submit([{ id: TASK_ID, run: ['sleep', '600'], maxAttempts: 100, backoff: { initialMs: 0, maxMs: 0, factor: 1 } }]);
  let current = await started;
  for (let kill = 0; kill < KILLS; kill += 1) {
    const victim = supervisor.status().workers.find((w) => w.id === current.workerId);
    if (!victim?.pid) throw new Error(`worker ${current.workerId} has no pid: ${JSON.stringify(victim)}`);
    const attempt = current.attempt;
    const exited = nextEvent('coord:worker-exited', (e) => e.workerId === victim.id);
    const assigned = nextEvent('coord:assigned', (e) => e.taskId === TASK_ID && e.attempt > attempt);
    started = nextEvent('coord:started', (e) => e.taskId === TASK_ID && e.attempt > attempt);
    const restarted = nextEvent('coord:worker-ready', (e) => e.workerId === victim.id);
    const t0 = performance.now();
    process.kill(victim.pid, 'SIGKILL');
    const times = await Promise.all([
      exited.then(() => performance.now() - t0),
      assigned.then(() => performance.now() - t0),
      started.then((e) => {
        current = e;
        return performance.now() - t0;
      }),
      restarted.then(() => performance.now() - t0),
    ]);
    samples.push({ exited: times[0], assigned: times[1], running: times[2], restarted: times[3], otherWorker: current.workerId !== victim.id });
    // The baseline, interleaved with the kills so both see the same machine load.
    forks.push(await forkToFirstMessage());
  }
} catch (error) {
  throw new Error(`recovery benchmark failed after ${samples.length} kills${deadReason ? ` (task dead: ${deadReason})` : ''}`, { cause: error });
} finally {
  await supervisor.stop();
  scratch.cleanup();
}

const running = summarize(samples.map((s) => s.running));
const fork = summarize(forks);
const row = (what: string, s: Summary, baseline: Summary | null): string[] => [
  what, fmt(s.median), fmt(s.p99), range(s), baseline === null ? '' : ratio(s.median, baseline.median),
];
report.text(
  `${samples.length} kills in one supervisor run: the killed worker is restarted (the worker machine's \`restarting\` state, `
  + 'restart delay 0 here) and the task, with `maxAttempts: 100` and a zero backoff, is retried at once. '
  + `In ${samples.filter((s) => s.otherWorker).length} of ${samples.length} kills the next attempt ran on another worker. `
  + 'The baseline is `fork()` of `bench/fixtures/first-message.mjs` until its first IPC message, once after each kill. '
  + '"coord ÷ fork" divides the medians.',
);
report.table(null, ['from `kill -9` of the busy worker to …', 'ms (median)', 'p99', 'min–max', 'coord ÷ fork'], [
  row('the supervisor sees the worker exit (`coord:worker-exited`)', summarize(samples.map((s) => s.exited)), null),
  row('the task\'s next attempt is assigned (`coord:assigned`)', summarize(samples.map((s) => s.assigned)), null),
  row('**the task runs again** (`coord:started`)', running, fork),
  row('the killed worker is ready again (`coord:worker-ready`)', summarize(samples.map((s) => s.restarted)), fork),
  row('baseline: fork → first IPC message', fork, null),
]);
report.write();
