/**
 * 6. Task overhead: what coord adds to running one tiny command.
 *
 * - End to end: a `run` task of `true`, from `submit()` to its `coord:complete` event,
 *   against a raw node-pty spawn of `true` in this process, from `spawn()` to its exit.
 * - Start latency: from `submit()` to the task's process actually running, against raw
 *   node-pty from `spawn()` to the process running. The process says when it runs by
 *   writing its own wall-clock time (`exec date +%s%N`) to a file outside the worktree;
 *   the `coord:started` event (the worker's report that it spawned the process) is shown too.
 *
 * One worker, one task at a time, so nothing waits in a queue: this is the floor a task
 * pays, not a throughput figure (the dispatch benchmark is that).
 *
 * Run: npm run bench -- task-overhead
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { spawn } from 'node-pty';
import { loadCoord } from './lib/coord.js';
import { makeRepo } from './lib/repo.js';
import { Report } from './lib/report.js';
import { fmt, range, ratio, summarize, type Summary } from './lib/stats.js';

const SAMPLES = 100;
const WARM_UP = 5;
const STAMP_COMMAND = 'exec date +%s%N > "$STAMP"';

const coord = await loadCoord();
const report = new Report('task-overhead', '6. Task overhead');
const scratch = makeRepo(1);

/** Wall-clock now in ms with sub-ms precision (the clock `date +%s%N` reads). */
const wallNow = (): number => performance.timeOrigin + performance.now();
/** The wall-clock ms a stamp file holds (written as ns since the epoch). */
const readStamp = (file: string): number => Number(BigInt(readFileSync(file, 'utf8').trim()) / 1000n) / 1000;

// ── raw node-pty ──────────────────────────────────────────────────────────────

const ptyOptions = { name: 'xterm-256color', cols: 160, rows: 48, cwd: scratch.repo };

function rawTrue(): Promise<number> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const pty = spawn('/bin/true', [], { ...ptyOptions, env: { PATH: process.env.PATH ?? '' } });
    pty.onExit(() => resolve(performance.now() - t0));
  });
}

function rawStartLatency(stamp: string): Promise<number> {
  return new Promise((resolve) => {
    const t0 = wallNow();
    const pty = spawn('/bin/sh', ['-c', STAMP_COMMAND], { ...ptyOptions, env: { PATH: process.env.PATH ?? '', STAMP: stamp } });
    pty.onExit(() => resolve(readStamp(stamp) - t0));
  });
}

// ── coord ─────────────────────────────────────────────────────────────────────

const supervisor = coord.createSupervisor({ repo: scratch.repo, workers: 1, worktreeRoot: scratch.worktreeRoot, stateDir: scratch.stateDir });

interface CoordSample {
  /** submit() → coord:assigned */
  assigned: number;
  /** submit() → coord:started (the worker reported the spawn) */
  started: number;
  /** submit() → coord:complete */
  complete: number;
}

/** Submits one task and resolves with the times of its events, relative to submit(). */
async function coordTask(id: string, task: { run: string[]; env?: Record<string, string> }): Promise<CoordSample> {
  const t0 = performance.now();
  const times: Partial<Record<'assigned' | 'started', number>> = {};
  const onAssigned = (e: { taskId: string }): void => {
    if (e.taskId === id) times.assigned = performance.now() - t0;
  };
  const onStarted = (e: { taskId: string }): void => {
    if (e.taskId === id) times.started = performance.now() - t0;
  };
  const complete = new Promise<number>((resolve, reject) => {
    const onComplete = (e: { taskId: string }): void => {
      if (e.taskId !== id) return;
      cleanup();
      resolve(performance.now() - t0);
    };
    const onFailed = (e: { taskId: string; error: { message: string } }): void => {
      if (e.taskId !== id) return;
      cleanup();
      reject(new Error(`task ${id} failed: ${e.error.message}`));
    };
    const cleanup = (): void => {
      supervisor.events.off('coord:complete', onComplete);
      supervisor.events.off('coord:failed', onFailed);
    };
    supervisor.events.on('coord:complete', onComplete);
    supervisor.events.on('coord:failed', onFailed);
  });
  supervisor.events.on('coord:assigned', onAssigned);
  supervisor.events.on('coord:started', onStarted);
  try {
    await supervisor.submit([{ id, ...task }]);
    const done = await complete;
    return { assigned: times.assigned ?? Number.NaN, started: times.started ?? Number.NaN, complete: done };
  } finally {
    supervisor.events.off('coord:assigned', onAssigned);
    supervisor.events.off('coord:started', onStarted);
  }
}

const samples = {
  coordTrue: [] as CoordSample[], rawTrue: [] as number[],
  coordStart: [] as number[], coordStartedEvent: [] as number[], rawStart: [] as number[],
};
try {
  await supervisor.start();
  await new Promise<void>((resolve) => {
    if (supervisor.status().workers.every((w) => w.state === 'idle')) resolve();
    else supervisor.events.once('coord:worker-ready', () => resolve());
  });
  for (let i = 0; i < WARM_UP + SAMPLES; i += 1) {
    const stamp = path.join(scratch.dir, `stamp-${i}`);
    const rawStamp = path.join(scratch.dir, `raw-stamp-${i}`);
    const e2e = await coordTask(`true-${i}`, { run: ['true'] });
    const raw = await rawTrue();
    const t0 = wallNow();
    const stamped = await coordTask(`stamp-${i}`, { run: ['sh', '-c', STAMP_COMMAND], env: { STAMP: stamp } });
    const coordStart = readStamp(stamp) - t0;
    const rawStart = await rawStartLatency(rawStamp);
    if (i < WARM_UP) continue;
    samples.coordTrue.push(e2e);
    samples.rawTrue.push(raw);
    samples.coordStart.push(coordStart);
    samples.coordStartedEvent.push(stamped.started);
    samples.rawStart.push(rawStart);
  }
} finally {
  await supervisor.stop();
  scratch.cleanup();
}

const e2e = summarize(samples.coordTrue.map((s) => s.complete));
const rawE2e = summarize(samples.rawTrue);
const start = summarize(samples.coordStart);
const rawStart = summarize(samples.rawStart);
const startedEvent = summarize(samples.coordStartedEvent);
const phase = (from: (s: CoordSample) => number, to: (s: CoordSample) => number): Summary => summarize(samples.coordTrue.map((s) => to(s) - from(s)));

const row = (what: string, s: Summary, baseline: Summary | null): string[] => [
  what, fmt(s.median), fmt(s.p99), range(s), baseline === null ? '' : ratio(s.median, baseline.median),
];
report.text(
  `One worker, one task at a time, ${SAMPLES} samples of each (after ${WARM_UP} warm-up rounds), coord and raw interleaved. `
  + `p99 of ${SAMPLES} samples is close to the maximum. "coord ÷ raw" divides the medians (above 1 = coord is slower). `
  + 'The repository is a one-file scratch repository, so the git work of each task is at its cheapest here.',
);
report.table(null, ['what', 'ms (median)', 'p99', 'min–max', 'coord ÷ raw'], [
  row('coord: `run: [true]`, submit → coord:complete', e2e, rawE2e),
  row('raw node-pty: spawn `true` → exit', rawE2e, null),
  row('coord: submit → task process running', start, rawStart),
  row('coord: submit → `coord:started` event', startedEvent, rawStart),
  row('raw node-pty: spawn → process running', rawStart, null),
]);
report.table('Where coord\'s end-to-end time goes (the `true` tasks):', ['phase', 'ms (median)', 'p99', 'min–max'], [
  ['submit → coord:assigned (validation, branch check in git, dispatch)', ...cells(phase(() => 0, (s) => s.assigned))],
  ['coord:assigned → coord:started (assign over IPC, task log, git prepare, pty spawn)', ...cells(phase((s) => s.assigned, (s) => s.started))],
  ['coord:started → coord:complete (process runs, git commit + clean-up, report)', ...cells(phase((s) => s.started, (s) => s.complete))],
]);
report.write();

function cells(s: Summary): string[] {
  return [fmt(s.median), fmt(s.p99), range(s)];
}
