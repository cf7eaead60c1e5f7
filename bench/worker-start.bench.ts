/**
 * 5. Worker start: how long until 4 workers are ready on a 2,000-file and on a 20,000-file
 * repository — first start (no worktrees yet: the files are checked out four times) and
 * restart (the worktrees exist and are reused) — against the physical floor done by hand,
 * sequentially: 4 × raw `git worktree add`, and 4 × raw `fork` of a trivial child until its
 * first IPC message.
 *
 * "Ready" is the fourth `coord:worker-ready` event: each worker was forked in its worktree,
 * got `coord:hello` and answered `coord:ready`. `start()` itself resolves earlier, once the
 * worktrees exist and the workers are forked; both times are shown.
 *
 * Run: npm run bench -- worker-start
 */
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { loadCoord } from './lib/coord.js';
import { forkToFirstMessage } from './lib/proc.js';
import { makeRepo, type BenchRepo } from './lib/repo.js';
import { Report } from './lib/report.js';
import { fmt, range, ratio, summarize, type Summary } from './lib/stats.js';

const WORKERS = 4;
const FILE_COUNTS = [2_000, 20_000];
const REPETITIONS = 3;

const run = promisify(execFile);
const coord = await loadCoord();
const report = new Report('worker-start', '5. Worker start');

interface StartTimes {
  /** `start()` resolved: repository opened, worktrees ready, workers forked. */
  started: number;
  /** The last of the workers said `coord:ready`. */
  ready: number;
}

/** Starts a supervisor on `worktreeRoot`, times it, and stops it again (untimed). */
async function timeCoordStart(scratch: BenchRepo, worktreeRoot: string): Promise<StartTimes> {
  const supervisor = coord.createSupervisor({ repo: scratch.repo, workers: WORKERS, worktreeRoot, stateDir: scratch.stateDir });
  let readyCount = 0;
  let allReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => {
    allReady = resolve;
  });
  supervisor.events.on('coord:worker-ready', () => {
    readyCount += 1;
    if (readyCount === WORKERS) allReady();
  });
  const t0 = performance.now();
  try {
    await supervisor.start();
    const started = performance.now() - t0;
    await ready;
    return { started, ready: performance.now() - t0 };
  } finally {
    await supervisor.stop();
  }
}

/** 4 × `git worktree add` (each a whole checkout), one after the other. */
async function rawWorktreeAdds(scratch: BenchRepo, root: string): Promise<number> {
  const base = scratch.git('rev-parse', 'HEAD');
  const t0 = performance.now();
  for (let w = 1; w <= WORKERS; w += 1) {
    await run('git', ['worktree', 'add', '--quiet', '--detach', path.join(root, `w${w}`), base], { cwd: scratch.repo });
  }
  return performance.now() - t0;
}

/** 4 × fork of a trivial child until its first message, one after the other. */
async function rawForks(): Promise<number> {
  let total = 0;
  for (let w = 0; w < WORKERS; w += 1) total += await forkToFirstMessage();
  return total;
}

function removeWorktrees(scratch: BenchRepo, root: string): void {
  rmSync(root, { recursive: true, force: true });
  scratch.git('worktree', 'prune');
}

interface Samples {
  firstStarted: number[]; firstReady: number[];
  restartStarted: number[]; restartReady: number[];
  rawAdds: number[]; rawForks: number[];
}

/** Warm-up, then REPETITIONS × (first start, restart, raw baseline) on a repository of `files` files. */
async function measure(files: number): Promise<Samples> {
  const scratch = makeRepo(files);
  const samples: Samples = { firstStarted: [], firstReady: [], restartStarted: [], restartReady: [], rawAdds: [], rawForks: [] };
  try {
    // Warm-up (file cache, git, node): one of each, untimed.
    await timeCoordStart(scratch, path.join(scratch.dir, 'warm'));
    removeWorktrees(scratch, path.join(scratch.dir, 'warm'));
    await rawForks();
    for (let rep = 0; rep < REPETITIONS; rep += 1) {
      const coordRoot = path.join(scratch.dir, `coord-${rep}`);
      const first = await timeCoordStart(scratch, coordRoot);
      const restart = await timeCoordStart(scratch, coordRoot);
      removeWorktrees(scratch, coordRoot);
      const rawRoot = path.join(scratch.dir, `raw-${rep}`);
      const adds = await rawWorktreeAdds(scratch, rawRoot);
      removeWorktrees(scratch, rawRoot);
      const forks = await rawForks();
      samples.firstStarted.push(first.started);
      samples.firstReady.push(first.ready);
      samples.restartStarted.push(restart.started);
      samples.restartReady.push(restart.ready);
      samples.rawAdds.push(adds);
      samples.rawForks.push(forks);
    }
  } finally {
    scratch.cleanup();
  }
  return samples;
}

const row = (what: string, summary: Summary, baseline: Summary | null): string[] => [
  what, fmt(summary.median), range(summary), baseline === null ? '' : ratio(summary.median, baseline.median),
];

report.text(
  `${WORKERS} workers on a repository of ${FILE_COUNTS.map((n) => n.toLocaleString('en-US')).join(' and of ')} files, median of ${REPETITIONS} repetitions `
  + '(each: a first start on a fresh worktree root, then a restart on the same root, then the raw baseline). The baseline is done sequentially by hand: '
  + `${WORKERS} × \`git worktree add --detach\`, and ${WORKERS} × \`fork()\` of \`bench/fixtures/first-message.mjs\` until its first IPC message. `
  + '"coord ÷ raw" divides coord\'s time to all workers ready by the baseline (above 1 = coord is slower).',
);
for (const files of FILE_COUNTS) {
  const samples = await measure(files);
  const s = Object.fromEntries(Object.entries(samples).map(([key, values]) => [key, summarize(values)])) as Record<keyof Samples, Summary>;
  const rawFirst = summarize(samples.rawAdds.map((adds, i) => adds + (samples.rawForks[i] as number)));
  report.table(`**${files.toLocaleString('en-US')} files**`, ['what', 'ms (median)', 'min–max', 'coord ÷ raw'], [
    row('coord first start: `start()` resolved', s.firstStarted, null),
    row(`coord first start: ${WORKERS} workers ready`, s.firstReady, rawFirst),
    row(`raw: ${WORKERS} × worktree add + ${WORKERS} × fork`, rawFirst, null),
    row('coord restart (worktrees exist): `start()` resolved', s.restartStarted, null),
    row(`coord restart: ${WORKERS} workers ready`, s.restartReady, s.rawForks),
    row(`raw: ${WORKERS} × fork to first message`, s.rawForks, null),
    row(`raw: ${WORKERS} × git worktree add alone`, s.rawAdds, null),
  ]);
}
report.text(
  'coord registers the worktrees one at a time (`git worktree add --no-checkout`: parallel adds race inside git, and it takes a few ms) '
  + 'and checks all four out at once, each with `checkout.workers=2`, then forks all workers at once; each worker loads the built '
  + 'orchestrator (zod schemas, the protocol, node-pty) before it can answer `coord:hello`. A restart skips the checkouts but still '
  + 'opens the repository (`git status` on every file).',
);
report.write();
