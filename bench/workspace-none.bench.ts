/**
 * 20. Tasks without a workspace (`workspace: none`): what skipping the git work per task
 * buys, against the bare tools in the same run.
 *
 * 1. No-op module tasks (bench/fixtures/noop-handler.mjs) on 4 workers, in memory and on
 *    SQLite: with `workspace: none`, with a worktree (a checkout before each task, a status
 *    and a detach after it), and piscina alone with 4 threads running the same handler.
 * 2. `true` command tasks on 4 workers, SQLite (the default store): with `workspace: none`,
 *    with a worktree, and GNU `parallel -j4` running the same 200 `true`s (installed with
 *    apt when it is missing and this runs as root).
 *
 * Each coord measure is one supervisor, warmed up (every worker ran a task), then timed
 * from `submit()` to `settled()`; three repetitions, the median reported.
 *
 * Run: npm run bench -- workspace-none (after `npm run build`)
 */
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { Piscina } from 'piscina';
import { fixture, loadCoord, type CoordApi } from './lib/coord.js';
import { makeRepo } from './lib/repo.js';
import { Report } from './lib/report.js';
import { fmt, ratio, summarize, type Summary } from './lib/stats.js';

const WORKERS = 4;
const REPETITIONS = 3;
const MODULE_TASKS = 1_000;
const MODULE_TASKS_WITH_WORKTREE = 100;
const COMMAND_TASKS = 200;
const HANDLER = fixture('noop-handler.mjs');
const coord = await loadCoord();
const report = new Report('workspace-none', '20. Tasks without a workspace (`workspace: none`)');

type Task = Parameters<ReturnType<CoordApi['createSupervisor']>['submit']>[0][number];

/** tasks/s of `make(prefix)` batches on one warmed-up supervisor, `REPETITIONS` times. */
async function coordRate(store: 'memory' | 'sqlite', count: number, make: (id: string) => Task): Promise<Summary> {
  const scratch = makeRepo(1);
  const supervisor = coord.createSupervisor({
    repo: scratch.repo, workers: WORKERS, worktreeRoot: scratch.worktreeRoot, stateDir: scratch.stateDir,
    ...(store === 'memory' ? { store: 'memory:' } : {}), logLevel: 'silent', inspect: false,
  });
  const rates: number[] = [];
  try {
    await supervisor.start();
    const batch = async (prefix: string, n: number): Promise<number> => {
      const started = performance.now();
      await supervisor.submit(Array.from({ length: n }, (_, i) => make(`${prefix}-${i}`)));
      await supervisor.settled();
      const seconds = (performance.now() - started) / 1000;
      const { counts } = supervisor.status();
      if (counts.dead || counts.blocked) throw new Error(`batch ${prefix} did not complete: ${JSON.stringify(counts)}`);
      return n / seconds;
    };
    await batch('warm', WORKERS * 2);
    for (let rep = 0; rep < REPETITIONS; rep++) rates.push(await batch(`r${rep}`, count));
  } finally {
    await supervisor.stop();
    scratch.cleanup();
  }
  return summarize(rates);
}

async function piscinaRate(count: number): Promise<Summary> {
  const pool = new Piscina({ filename: HANDLER, minThreads: WORKERS, maxThreads: WORKERS, execArgv: [] });
  const rates: number[] = [];
  try {
    await Promise.all(Array.from({ length: 200 }, () => pool.run(null)));
    for (let rep = 0; rep < REPETITIONS; rep++) {
      const started = performance.now();
      await Promise.all(Array.from({ length: count }, () => pool.run(null)));
      rates.push(count / ((performance.now() - started) / 1000));
    }
  } finally {
    await pool.destroy();
  }
  return summarize(rates);
}

/** GNU parallel, installed with apt when missing (as root); null when it cannot be had. */
function gnuParallel(): string | null {
  const found = spawnSync('parallel', ['--version'], { encoding: 'utf8' });
  if (found.status === 0 && found.stdout.includes('GNU parallel')) return 'parallel';
  if (process.getuid?.() !== 0) return null;
  spawnSync('apt-get', ['install', '-y', '-q', 'parallel'], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  const again = spawnSync('parallel', ['--version'], { encoding: 'utf8' });
  return again.status === 0 && again.stdout.includes('GNU parallel') ? 'parallel' : null;
}

function parallelRate(binary: string, count: number): Summary {
  const rates: number[] = [];
  const input = Array.from({ length: count }, () => 'true').join('\n');
  spawnSync(binary, ['--will-cite', '-j', String(WORKERS)], { input: 'true\n', stdio: ['pipe', 'ignore', 'ignore'] });
  for (let rep = 0; rep < REPETITIONS; rep++) {
    const started = performance.now();
    const run = spawnSync(binary, ['--will-cite', '-j', String(WORKERS)], { input, stdio: ['pipe', 'ignore', 'ignore'] });
    if (run.status !== 0) throw new Error(`parallel exited ${run.status}`);
    rates.push(count / ((performance.now() - started) / 1000));
  }
  return summarize(rates);
}

// ─── 1. Module tasks ───

const moduleRows: Array<{ label: string; n: number; rate: Summary }> = [];
const piscina = await piscinaRate(MODULE_TASKS);
for (const store of ['memory', 'sqlite'] as const) {
  const none = await coordRate(store, MODULE_TASKS, (id) => ({ id, module: HANDLER, workspace: 'none' }));
  const worktree = await coordRate(store, MODULE_TASKS_WITH_WORKTREE, (id) => ({ id, module: HANDLER }));
  moduleRows.push({ label: `coord, ${store === 'memory' ? 'in memory' : 'SQLite'}, \`workspace: none\``, n: MODULE_TASKS, rate: none });
  moduleRows.push({ label: `coord, ${store === 'memory' ? 'in memory' : 'SQLite'}, with a worktree`, n: MODULE_TASKS_WITH_WORKTREE, rate: worktree });
}
report.text(
  `No-op module tasks on ${WORKERS} workers, timed from \`submit()\` to \`settled()\` (median of ${REPETITIONS}, after a warm-up), `
  + `against piscina alone with ${WORKERS} threads running the same handler, ${MODULE_TASKS} tasks. The tasks with a worktree run `
  + `${MODULE_TASKS_WITH_WORKTREE} per batch: their rate does not depend on the batch size (the dispatch benchmark shows it).`,
);
report.table(null, ['system', 'tasks', 'tasks/s (median)', 'min–max', 'ms/task/lane', '÷ piscina'], [
  ['piscina alone, 4 threads', String(MODULE_TASKS), fmt(piscina.median), `${fmt(piscina.min)}–${fmt(piscina.max)}`, fmt((WORKERS * 1000) / piscina.median), '1.00×'],
  ...moduleRows.map(({ label, n, rate }) => [label, String(n), fmt(rate.median), `${fmt(rate.min)}–${fmt(rate.max)}`, fmt((WORKERS * 1000) / rate.median), ratio(rate.median, piscina.median)]),
]);

// ─── 2. Command tasks ───

const parallel = gnuParallel();
const commandNone = await coordRate('sqlite', COMMAND_TASKS, (id) => ({ id, run: ['true'], workspace: 'none' }));
const commandWorktree = await coordRate('sqlite', COMMAND_TASKS, (id) => ({ id, run: ['true'] }));
const parallelResult = parallel === null ? null : parallelRate(parallel, COMMAND_TASKS);
const seconds = (rate: Summary): string => fmt(COMMAND_TASKS / rate.median, 2);
const overParallel = (rate: Summary): string => (parallelResult === null ? 'n/a' : ratio(parallelResult.median, rate.median));
report.text(
  `${COMMAND_TASKS} \`true\` command tasks on ${WORKERS} workers with the SQLite store, each in a PTY, against GNU \`parallel -j${WORKERS}\` `
  + `running ${COMMAND_TASKS} \`true\`s${parallelResult === null ? ' (not installed here: its row is missing)' : ''}. "÷ parallel" is coord's time over parallel's (above 1: coord is slower).`,
);
report.table(null, ['system', 'tasks', 'seconds (median)', 'tasks/s', 'time ÷ parallel'], [
  ...(parallelResult === null ? [] : [[`GNU \`parallel -j${WORKERS}\``, String(COMMAND_TASKS), seconds(parallelResult), fmt(parallelResult.median), '1.00×']]),
  ['coord, `workspace: none`', String(COMMAND_TASKS), seconds(commandNone), fmt(commandNone.median), overParallel(commandNone)],
  ['coord, with a worktree', String(COMMAND_TASKS), seconds(commandWorktree), fmt(commandWorktree.median), overParallel(commandWorktree)],
]);
const memoryNone = moduleRows[0]?.rate as Summary;
const memoryWorktree = moduleRows[1]?.rate as Summary;
report.text(
  `Without a workspace a module task costs ${fmt((WORKERS * 1000) / memoryNone.median)} ms per lane in memory against `
  + `${fmt((WORKERS * 1000) / memoryWorktree.median)} ms with a worktree (${ratio(memoryNone.median, memoryWorktree.median)} the rate), `
  + `still ${ratio(memoryNone.median, piscina.median)} piscina's: what is left is coord's own path per task (the store's claim and `
  + 'completion, the assign and result over IPC, the attempt log, the sweep for processes the attempt left), one task per worker at a time.',
);
report.write();
