/**
 * 21. The performance targets, side by side: every target row of the performance issue,
 * coord against its baseline measured in the same run, the ratio next to the target.
 *
 * 1. 200 `true` command tasks on 4 workers, SQLite, worktrees present, vs GNU `parallel -j4`.
 * 2. 40 × `sleep 0.5` command tasks, the same supervisor, vs `parallel -j4` (ideal 5 s).
 * 3. 10,000 no-op `workspace: none` module tasks in memory vs piscina alone, 4 threads.
 * 4. The same on SQLite vs BullMQ on Redis, concurrency 4.
 * 5. The same on PostgreSQL vs pg-boss, 4 workers × batch 1,000.
 * 6. First start (4 workers ready, worktrees created) on a 2,000- and a 20,000-file
 *    repository vs 4 sequential raw `git worktree add` + 4 sequential forks to a first message.
 * 7. A 20-task chain whose every task commits a new file (each next task on a new start
 *    commit: a fresh thread) vs the same chain writing an ignored file (threads stay warm).
 * 8. Scale: the SQLite run of row 4 against a larger one (100,000, or what fits in 4 minutes
 *    at row 4's rate; `BENCH_SCALE_TASKS` sets the size, run as given), per-task cost, RSS and
 *    the run summary's size.
 *
 * Every coord figure goes through `createSupervisor()` from dist/, warmed up first where the
 * row says so, and is timed from `submit()` to `settled()`. A row whose peer (Redis,
 * PostgreSQL, GNU parallel) is not there says so instead of failing the others.
 *
 * Run: npm run bench -- targets (after `npm run build`)
 */
import { execFile, spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Queue, Worker as BullWorker } from 'bullmq';
import pg from 'pg';
import PgBoss from 'pg-boss';
import { Piscina } from 'piscina';
import type { Supervisor, SupervisorOptions, TaskSpecInput } from '../src/index.js';
import noop from './fixtures/noop-handler.mjs';
import { fixture, loadCoord } from './lib/coord.js';
import { postgresConnection, redisConnection } from './lib/peers.js';
import { cpuMs, forkToFirstMessage, gnuParallel } from './lib/proc.js';
import { makeRepo, type BenchRepo } from './lib/repo.js';
import { Report } from './lib/report.js';
import { fmt, ratio, summarize, type Summary } from './lib/stats.js';

const WORKERS = 4;
const CORES = os.availableParallelism();
/** Repetitions of the short measures (command batches, starts, chains) and of every baseline. */
const REPETITIONS = 3;
/** The 10k module runs take 40–100 s each at today's rates: one timed run after a warm-up. */
const COORD_MODULE_REPETITIONS = 1;
const MODULE_WARM_UP_TASKS = 200;
const TRUE_TASKS = 200;
const SLEEP_TASKS = 40;
const SLEEP_SECONDS = 0.5;
const MODULE_TASKS = 10_000;
const PGBOSS_BATCH = 1_000;
/**
 * First-start repositories. The 20,000-file one has no warm-up of its own: its checkouts are
 * the slowest steps of the benchmark on a loaded machine, and node and git are warm from the
 * 2,000-file row before it.
 */
const START_ROWS: ReadonlyArray<{ files: number; repetitions: number; warmUp: boolean }> = [
  { files: 2_000, repetitions: REPETITIONS, warmUp: true },
  { files: 20_000, repetitions: REPETITIONS, warmUp: false },
];
const CHAIN_LENGTH = 20;
const SCALE_TASKS_WANTED = 100_000;
/** The large scale run is cut to what row 4's rate gets through in this long. */
const SCALE_BUDGET_SECONDS = 240;
const SCALE_TASKS_OVERRIDE = process.env.BENCH_SCALE_TASKS === undefined ? null : Number(process.env.BENCH_SCALE_TASKS);

const NOOP_HANDLER = fixture('noop-handler.mjs');
const WRITE_HANDLER = fixture('write-file-handler.mjs');
/** What the chain bench repository's .gitignore ignores. */
const IGNORED_FOLDER = 'ignored';

const run = promisify(execFile);
const coord = await loadCoord();
const report = new Report('targets', '21. The performance targets, side by side');

// ── helpers ─────────────────────────────────────────────────────────────────

/** A measure, or why it could not be taken (a peer's server missing, say). */
type Outcome<T> = { ok: true; value: T } | { ok: false; reason: string };

async function attempt<T>(measure: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await measure() };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    process.stderr.write(`measure failed: ${reason}\n`);
    return { ok: false, reason };
  }
}

async function repeat(times: number, measure: (rep: number) => Promise<number>): Promise<Summary> {
  const values: number[] = [];
  for (let rep = 0; rep < times; rep += 1) values.push(await measure(rep));
  return summarize(values);
}

const seconds = (ms: number): number => ms / 1000;
const since = (started: number): number => performance.now() - started;

/**
 * A started supervisor on a fresh one-file repository (`prepareRepo` may add to it before
 * the start: its HEAD is the run's base commit); stopped and removed after `body`. `options`
 * may depend on the scratch folder (a SQLite store file in it).
 */
async function withSupervisor<T>(
  options: Partial<SupervisorOptions> | ((scratch: BenchRepo) => Partial<SupervisorOptions>),
  body: (supervisor: Supervisor, scratch: BenchRepo) => Promise<T>,
  prepareRepo: (scratch: BenchRepo) => void = () => undefined,
): Promise<T> {
  const scratch = makeRepo(1);
  prepareRepo(scratch);
  const supervisor = coord.createSupervisor({
    repo: scratch.repo, workers: WORKERS, worktreeRoot: scratch.worktreeRoot, stateDir: scratch.stateDir,
    logLevel: 'silent', inspect: false, ...(typeof options === 'function' ? options(scratch) : options),
  });
  try {
    await supervisor.start();
    return await body(supervisor, scratch);
  } finally {
    await supervisor.stop();
    scratch.cleanup();
  }
}

/** ms from `submit(tasks)` to `settled()`; throws unless every task completed. */
async function timeBatch(supervisor: Supervisor, tasks: readonly TaskSpecInput[]): Promise<number> {
  const started = performance.now();
  await supervisor.submit(tasks);
  await supervisor.settled();
  const elapsed = since(started);
  const { counts } = supervisor.status();
  if (counts.dead || counts.blocked || counts.cancelled) throw new Error(`a batch did not complete: ${JSON.stringify(counts)}`);
  return elapsed;
}

/** `n` tasks `<prefix>-<i>`, each `spec()`. */
const batch = (prefix: string, n: number, spec: () => Omit<TaskSpecInput, 'id'>): TaskSpecInput[] =>
  Array.from({ length: n }, (_, i) => ({ id: `${prefix}-${i}`, ...spec() }) as TaskSpecInput);

const noopModule = (): Omit<TaskSpecInput, 'id'> => ({ module: NOOP_HANDLER, workspace: 'none' });

/** ms GNU parallel takes to run `commands` with -j4, REPETITIONS times after a warm-up. */
function parallelMs(binary: string, commands: readonly string[]): Summary {
  const go = (input: string): number => {
    const started = performance.now();
    const result = spawnSync(binary, ['--will-cite', '-j', String(WORKERS)], { input, stdio: ['pipe', 'ignore', 'ignore'] });
    if (result.status !== 0) throw new Error(`parallel exited ${result.status}`);
    return since(started);
  };
  go('true\n');
  return summarize(Array.from({ length: REPETITIONS }, () => go(`${commands.join('\n')}\n`)));
}

// ── rows 1 and 2: command tasks against GNU parallel ─────────────────────────

interface CommandTimes {
  trueMs: Summary;
  sleepMs: Summary;
  /** Where a lane's time goes between and around the tasks, per row (medians over every task). */
  lanes: { true: LaneTimes; sleep: LaneTimes };
  /** CPU time per `true` task: the supervisor (this process) and the workers. */
  trueCpu: { supervisorMs: number; workersMs: number };
}

/** Medians, in ms, of a worker's three stretches per task, from the supervisor's events. */
interface LaneTimes {
  /** `coord:complete` of a worker's task to `coord:assigned` of its next one: the supervisor's turn-around. */
  turnaround: number;
  /** `coord:assigned` to `coord:started`: the hand-over, the IPC, the worktree's preparation and the spawn. */
  toStart: number;
  /** `coord:started` to `coord:complete`: the command itself, then the commit check, the sweep and the report. */
  toComplete: number;
}

/** Records when each task was assigned, started and completed, by worker, while `body` runs. */
async function laneTimes<T>(supervisor: Supervisor, body: () => Promise<T>): Promise<{ value: T; lanes: LaneTimes }> {
  const seen = new Map<string, { workerId: string; assigned?: number; started?: number; complete?: number }>();
  const mark = (stage: 'assigned' | 'started' | 'complete') => (event: { taskId: string; workerId: string }): void => {
    const entry = seen.get(event.taskId) ?? { workerId: event.workerId };
    entry[stage] = performance.now();
    seen.set(event.taskId, entry);
  };
  const listeners = (['assigned', 'started', 'complete'] as const).map((stage) => [`coord:${stage}` as const, mark(stage)] as const);
  for (const [name, listener] of listeners) supervisor.events.on(name, listener);
  try {
    const value = await body();
    const turnaround: number[] = [], toStart: number[] = [], toComplete: number[] = [];
    const byWorker = new Map<string, Array<{ assigned: number; started: number; complete: number }>>();
    for (const entry of seen.values()) {
      if (entry.assigned === undefined || entry.started === undefined || entry.complete === undefined) continue;
      const lane = byWorker.get(entry.workerId) ?? [];
      lane.push({ assigned: entry.assigned, started: entry.started, complete: entry.complete });
      byWorker.set(entry.workerId, lane);
    }
    for (const lane of byWorker.values()) {
      lane.sort((a, b) => a.assigned - b.assigned);
      lane.forEach((task, i) => {
        toStart.push(task.started - task.assigned);
        toComplete.push(task.complete - task.started);
        const before = lane[i - 1];
        if (before !== undefined) turnaround.push(task.assigned - before.complete);
      });
    }
    return { value, lanes: { turnaround: summarize(turnaround).median, toStart: summarize(toStart).median, toComplete: summarize(toComplete).median } };
  } finally {
    for (const [name, listener] of listeners) supervisor.events.off(name, listener);
  }
}

/** One SQLite supervisor with worktrees, warmed up (every worker ran a task), for both command rows. */
function coordCommands(): Promise<CommandTimes> {
  return withSupervisor({}, async (supervisor) => {
    await timeBatch(supervisor, batch('warm', WORKERS * 2, () => ({ run: ['true'] })));
    const before = cpuNow(supervisor);
    const trues = await laneTimes(supervisor, () => repeat(REPETITIONS, (rep) => timeBatch(supervisor, batch(`true-r${rep}`, TRUE_TASKS, () => ({ run: ['true'] })))));
    const after = cpuNow(supervisor);
    const tasks = REPETITIONS * TRUE_TASKS;
    const trueCpu = { supervisorMs: (after.own - before.own) / tasks, workersMs: (after.workers - before.workers) / tasks };
    const sleeps = await laneTimes(supervisor, () => repeat(REPETITIONS, (rep) => timeBatch(supervisor, batch(`sleep-r${rep}`, SLEEP_TASKS, () => ({ run: ['sleep', String(SLEEP_SECONDS)] })))));
    return { trueMs: trues.value, sleepMs: sleeps.value, lanes: { true: trues.lanes, sleep: sleeps.lanes }, trueCpu };
  });
}

// ── rows 3 to 5 and 8: no-op module tasks without a workspace ─────────────────

interface ModuleRun {
  tasks: number;
  ms: number;
  rate: number;
  /** This process's RSS in MiB after settled, and before the supervisor was created. */
  rssMiB: number;
  rssBeforeMiB: number;
  /** `JSON.stringify(await supervisor.summary())`, in bytes. */
  summaryBytes: number;
  /** CPU time per task over the timed run: the supervisor (this process) and its workers together. */
  cpu: { supervisorMs: number; workersMs: number };
}

/** CPU time (user + system, ms) of this process and of the supervisor's workers, to difference around a run. */
function cpuNow(supervisor: Supervisor): { own: number; workers: number } {
  const own = process.cpuUsage();
  const pids = supervisor.status().workers.flatMap((w) => (w.pid === null ? [] : [w.pid]));
  return { own: (own.user + own.system) / 1000, workers: pids.reduce((sum, pid) => sum + cpuMs(pid), 0) };
}

const rssMiB = (): number => process.memoryUsage().rss / 2 ** 20;

/** `tasks` no-op module tasks on a supervisor with `store`, warmed up, timed COORD_MODULE_REPETITIONS times (the median run). */
async function coordModules(store: (scratch: BenchRepo) => string, tasks: number): Promise<ModuleRun> {
  const rssBeforeMiB = rssMiB();
  const runs = await withSupervisor((scratch) => ({ store: store(scratch) }), async (supervisor) => {
    await timeBatch(supervisor, batch('warm', MODULE_WARM_UP_TASKS, noopModule));
    const timed: ModuleRun[] = [];
    for (let rep = 0; rep < COORD_MODULE_REPETITIONS; rep += 1) {
      const before = cpuNow(supervisor);
      const ms = await timeBatch(supervisor, batch(`m-r${rep}`, tasks, noopModule));
      const after = cpuNow(supervisor);
      const cpu = { supervisorMs: (after.own - before.own) / tasks, workersMs: (after.workers - before.workers) / tasks };
      const summaryBytes = Buffer.byteLength(JSON.stringify(await supervisor.summary()));
      timed.push({ tasks, ms, rate: tasks / seconds(ms), rssMiB: rssMiB(), rssBeforeMiB, summaryBytes, cpu });
    }
    return timed;
  });
  return [...runs].sort((a, b) => a.rate - b.rate)[Math.floor(runs.length / 2)] as ModuleRun;
}

/** A PostgreSQL store URL on a schema of this run's own, and what drops that schema. */
function postgresStore(): { url: string; drop: () => Promise<void> } {
  const { user, host, port, database } = postgresConnection;
  const base = process.env.BENCH_COORD_PG_URL ?? `postgres://${user}@${host}:${port}/${database}`;
  const schema = `coord_bench_targets_${process.pid}`;
  const drop = async (): Promise<void> => {
    const client = new pg.Client(postgresConnection);
    try {
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    } finally {
      await client.end().catch(() => undefined);
    }
  };
  return { url: `${base}${base.includes('?') ? '&' : '?'}schema=${schema}`, drop };
}

/** tasks/s of piscina alone (4 threads) running the no-op handler `n` times. */
async function piscinaRate(n: number): Promise<Summary> {
  // execArgv []: threads would otherwise inherit this process's tsx loader, which coord's
  // workers (forked from dist/) do not have.
  const pool = new Piscina({ filename: NOOP_HANDLER, minThreads: WORKERS, maxThreads: WORKERS, execArgv: [] });
  try {
    await Promise.all(Array.from({ length: 1_000 }, () => pool.run(null)));
    return await repeat(REPETITIONS, async () => {
      const started = performance.now();
      await Promise.all(Array.from({ length: n }, () => pool.run(null)));
      return n / seconds(since(started));
    });
  } finally {
    await pool.destroy();
  }
}

/** tasks/s of BullMQ on Redis, concurrency 4, the no-op as its processor (as the dispatch benchmark runs it). */
async function bullmqRate(n: number): Promise<Summary> {
  const name = `coord-bench-targets-${process.pid}`;
  const queue = new Queue(name, { connection: redisConnection });
  let completed = 0;
  let target = 0;
  let settle: (error?: Error) => void = () => undefined;
  const worker = new BullWorker(name, async () => noop(), { connection: redisConnection, concurrency: WORKERS });
  worker.on('completed', () => {
    completed += 1;
    if (completed === target) settle();
  });
  worker.on('failed', (job, error) => settle(new Error(`BullMQ job ${job?.id} failed: ${error.message}`)));
  const runBatch = async (count: number): Promise<number> => {
    completed = 0;
    target = count;
    const done = new Promise<void>((resolve, reject) => {
      settle = (error) => (error === undefined ? resolve() : reject(error));
    });
    const started = performance.now();
    for (let i = 0; i < count; i += 1_000) {
      await queue.addBulk(Array.from({ length: Math.min(1_000, count - i) }, (_, j) => ({
        name: 'noop', data: { i: i + j }, opts: { removeOnComplete: true, removeOnFail: true },
      })));
    }
    await done;
    return count / seconds(since(started));
  };
  try {
    await worker.waitUntilReady();
    await runBatch(500);
    return await repeat(REPETITIONS, () => runBatch(n));
  } finally {
    await worker.close();
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
  }
}

/** tasks/s of pg-boss, 4 workers each fetching batches of PGBOSS_BATCH, handling one job at a time. */
async function pgBossRate(n: number): Promise<Summary> {
  const schema = `coord_bench_targets_pgboss_${process.pid}`;
  const boss = new PgBoss({ ...postgresConnection, schema, supervise: false, schedule: false });
  boss.on('error', (error) => process.stderr.write(`pg-boss: ${error.message}\n`));
  await boss.start();
  try {
    return await repeat(REPETITIONS, async (rep) => {
      const name = `coord-bench-targets-${rep}`;
      await boss.createQueue(name);
      let handled = 0;
      const started = performance.now();
      for (let i = 0; i < n; i += 1_000) {
        await boss.insert(Array.from({ length: Math.min(1_000, n - i) }, (_, j) => ({ name, data: { i: i + j } })));
      }
      for (let w = 0; w < WORKERS; w += 1) {
        await boss.work(name, { batchSize: PGBOSS_BATCH, pollingIntervalSeconds: 0.5 }, async (jobs) => {
          for (const _job of jobs) {
            noop();
            handled += 1;
          }
        });
      }
      // Handled is not completed yet: pg-boss completes a batch once its handler resolved.
      while (handled < n || (await boss.getQueueSize(name, { before: 'completed' })) > 0) await sleep(10);
      const rate = n / seconds(since(started));
      await boss.offWork(name);
      return rate;
    });
  } finally {
    // The whole schema goes, so the run leaves nothing in the database.
    await boss.getDb().executeSql(`DROP SCHEMA IF EXISTS ${schema} CASCADE`, []);
    await boss.stop({ graceful: false, wait: true });
  }
}

// ── row 6: first start ────────────────────────────────────────────────────────

interface StartTimes {
  coordMs: Summary;
  rawMs: Summary;
}

/** Resolves once `status().workers` shows `WORKERS` idle workers: re-checked at every worker-ready event and every 5 ms. */
async function allWorkersIdle(supervisor: Supervisor, timeoutMs = 120_000): Promise<void> {
  const idle = (): boolean => supervisor.status().workers.filter((worker) => worker.state === 'idle').length >= WORKERS;
  if (idle()) return;
  let wake: () => void = () => undefined;
  const onReady = (): void => wake();
  supervisor.events.on('coord:worker-ready', onReady);
  const deadline = performance.now() + timeoutMs;
  try {
    while (!idle()) {
      if (performance.now() > deadline) throw new Error(`workers not idle after ${timeoutMs} ms: ${JSON.stringify(supervisor.status().workers)}`);
      await Promise.race([new Promise<void>((resolve) => { wake = resolve; }), sleep(5)]);
    }
  } finally {
    supervisor.events.off('coord:worker-ready', onReady);
  }
}

function removeWorktrees(scratch: BenchRepo, root: string): void {
  rmSync(root, { recursive: true, force: true });
  scratch.git('worktree', 'prune');
}

/** ms from `createSupervisor(...).start()` to started and all workers idle, on a fresh worktree root and state folder. */
async function timeFirstStart(scratch: BenchRepo, label: string): Promise<number> {
  const worktreeRoot = path.join(scratch.dir, `${label}-worktrees`);
  const stateDir = path.join(scratch.dir, `${label}-state`);
  const started = performance.now();
  const supervisor = coord.createSupervisor({ repo: scratch.repo, workers: WORKERS, worktreeRoot, stateDir, logLevel: 'silent', inspect: false });
  try {
    await supervisor.start();
    await allWorkersIdle(supervisor);
    return since(started);
  } finally {
    await supervisor.stop();
    removeWorktrees(scratch, worktreeRoot);
    rmSync(stateDir, { recursive: true, force: true });
  }
}

/** 4 sequential `git worktree add --detach <path> HEAD`, then 4 sequential forks to a first IPC message. */
async function timeRawStart(scratch: BenchRepo, label: string): Promise<number> {
  const root = path.join(scratch.dir, `${label}-raw`);
  const started = performance.now();
  try {
    for (let w = 1; w <= WORKERS; w += 1) {
      await run('git', ['worktree', 'add', '--quiet', '--detach', path.join(root, `w${w}`), 'HEAD'], { cwd: scratch.repo });
    }
    for (let w = 0; w < WORKERS; w += 1) await forkToFirstMessage();
    return since(started);
  } finally {
    removeWorktrees(scratch, root);
  }
}

async function firstStarts(files: number, repetitions: number, warmUp: boolean): Promise<StartTimes> {
  const scratch = makeRepo(files);
  try {
    if (warmUp) {
      // File cache, git, node: untimed.
      await timeFirstStart(scratch, 'warm');
      await timeRawStart(scratch, 'warm');
    }
    const coordMs: number[] = [];
    const rawMs: number[] = [];
    // Alternated, so drift on the shared machine hits both alike.
    for (let rep = 0; rep < repetitions; rep += 1) {
      coordMs.push(await timeFirstStart(scratch, `r${rep}`));
      rawMs.push(await timeRawStart(scratch, `r${rep}`));
    }
    return { coordMs: summarize(coordMs), rawMs: summarize(rawMs) };
  } finally {
    scratch.cleanup();
  }
}

// ── row 7: a chain with a new start commit per task ──────────────────────────

/** ms of a CHAIN_LENGTH-task chain on 1 worker, REPETITIONS times; checks the commits are what the variant means. */
function timeChains(ignored: boolean): Promise<Summary> {
  const addGitignore = (scratch: BenchRepo): void => {
    writeFileSync(path.join(scratch.repo, '.gitignore'), `${IGNORED_FOLDER}/\n`);
    scratch.git('add', '.gitignore');
    scratch.git('commit', '--quiet', '-m', 'ignore the chain bench files');
  };
  const chain = (prefix: string, length: number): TaskSpecInput[] =>
    Array.from({ length }, (_, i) => ({
      id: `${prefix}-${i}`,
      module: WRITE_HANDLER,
      input: { name: ignored ? `${IGNORED_FOLDER}/${prefix}-${i}.txt` : `chain/${prefix}-${i}.txt`, ignored },
      deps: i === 0 ? [] : [`${prefix}-${i - 1}`],
    }));
  return withSupervisor({ workers: 1 }, async (supervisor, scratch) => {
    const base = scratch.git('rev-parse', 'HEAD');
    const commits = new Map<string, string | null>();
    supervisor.events.on('coord:complete', ({ taskId, commit }) => commits.set(taskId, commit));
    await timeBatch(supervisor, chain('warm', 2));
    return repeat(REPETITIONS, async (rep) => {
      const prefix = `chain-r${rep}`;
      const ms = await timeBatch(supervisor, chain(prefix, CHAIN_LENGTH));
      const made = new Set([...commits].filter(([id]) => id.startsWith(`${prefix}-`)).map(([, commit]) => commit));
      // Committing: every task a commit of its own. Ignored: every task ends where it started.
      const expected = ignored ? made.size === 1 && made.has(base) : made.size === CHAIN_LENGTH && !made.has(base) && !made.has(null);
      if (!expected) throw new Error(`chain ${prefix} (${ignored ? 'ignored' : 'committing'}) made commits ${[...made].join(', ')} (base ${base})`);
      return ms;
    });
  }, addGitignore);
}

// ── run ───────────────────────────────────────────────────────────────────────

const parallel = gnuParallel();
const noParallel = async (): Promise<Summary> => {
  throw new Error('GNU parallel is not installed and could not be');
};
const commands = await attempt(coordCommands);
const parallelTrue = await attempt(async () => (parallel === null ? noParallel() : parallelMs(parallel, Array.from({ length: TRUE_TASKS }, () => 'true'))));
const parallelSleep = await attempt(async () => (parallel === null ? noParallel() : parallelMs(parallel, Array.from({ length: SLEEP_TASKS }, () => `sleep ${SLEEP_SECONDS}`))));

const memoryRun = await attempt(() => coordModules(() => 'memory:', MODULE_TASKS));
const piscina = await attempt(() => piscinaRate(MODULE_TASKS));
const sqliteUrl = (scratch: BenchRepo): string => `sqlite:${path.join(scratch.stateDir, 'targets.db')}`;
const sqliteRun = await attempt(() => coordModules(sqliteUrl, MODULE_TASKS));
const bullmq = await attempt(() => bullmqRate(MODULE_TASKS));
const postgres = postgresStore();
const postgresRun = await attempt(async () => {
  try {
    return await coordModules(() => postgres.url, MODULE_TASKS);
  } finally {
    await postgres.drop().catch((error: unknown) => process.stderr.write(`could not drop the coord schema: ${String(error)}\n`));
  }
});
const pgboss = await attempt(() => pgBossRate(MODULE_TASKS));

const starts = new Map<number, Outcome<StartTimes>>();
for (const { files, repetitions, warmUp } of START_ROWS) starts.set(files, await attempt(() => firstStarts(files, repetitions, warmUp)));

const chainCommitting = await attempt(() => timeChains(false));
const chainWarm = await attempt(() => timeChains(true));

/** The large scale size: the override as given, else 100k cut to what row 4's rate runs in the budget. */
function scaleSize(): { tasks: number; cut: boolean } {
  if (SCALE_TASKS_OVERRIDE !== null && Number.isInteger(SCALE_TASKS_OVERRIDE) && SCALE_TASKS_OVERRIDE > 0) return { tasks: SCALE_TASKS_OVERRIDE, cut: false };
  if (!sqliteRun.ok) return { tasks: 0, cut: false };
  const fits = Math.floor((sqliteRun.value.rate * SCALE_BUDGET_SECONDS) / 1_000) * 1_000;
  return fits >= SCALE_TASKS_WANTED ? { tasks: SCALE_TASKS_WANTED, cut: false } : { tasks: Math.max(fits, MODULE_TASKS), cut: true };
}
const scale = scaleSize();
const scaleRun = await attempt(async () => {
  if (scale.tasks === 0) throw new Error('row 4 did not run, so its rate cannot size the large run (set BENCH_SCALE_TASKS)');
  return coordModules(sqliteUrl, scale.tasks);
});

// ── the table ─────────────────────────────────────────────────────────────────

interface Target {
  op: '≤' | '≥';
  value: number;
}

/** One row: cells for coord and the baseline, and the two numbers the ratio divides. */
function targetRow(measure: string, coordSide: Outcome<Figure>, baseSide: Outcome<Figure>, target: Target): string[] {
  const cell = (side: Outcome<Figure>): string => (side.ok ? side.value.cell : 'not measured');
  const targetCell = `${target.op} ${target.value}×`;
  if (!coordSide.ok || !baseSide.ok) return [measure, cell(coordSide), cell(baseSide), '–', targetCell, 'n/a'];
  const value = coordSide.value.value / baseSide.value.value;
  const met = target.op === '≤' ? value <= target.value : value >= target.value;
  return [measure, coordSide.value.cell, baseSide.value.cell, ratio(coordSide.value.value, baseSide.value.value), targetCell, met ? 'met' : 'missed'];
}

function map<T, U>(outcome: Outcome<T>, f: (value: T) => U): Outcome<U> {
  return outcome.ok ? { ok: true, value: f(outcome.value) } : outcome;
}

/** A table cell and the number the ratio divides. */
interface Figure {
  cell: string;
  value: number;
}
const spread = (s: Summary, scale = 1, digits?: number): string => (s.n > 1 ? ` (${fmt(s.min / scale, digits)}–${fmt(s.max / scale, digits)})` : '');
const secondsCell = (ms: Summary, who: string): Figure => ({ cell: `${fmt(seconds(ms.median), 2)} s${spread(ms, 1000, 2)}${who}`, value: ms.median });
const msCell = (ms: Summary, who = ''): Figure => ({ cell: `${fmt(ms.median)} ms${spread(ms)}${who}`, value: ms.median });
const rateCell = (rate: number, who = ''): Figure => ({ cell: `${fmt(rate)}/s${who}`, value: rate });
const rateSummaryCell = (rate: Summary, who: string): Figure => ({ cell: `${fmt(rate.median)}/s${spread(rate)}${who}`, value: rate.median });
const perTaskCell = (r: ModuleRun): Figure => ({
  cell: `${fmt(r.ms / r.tasks, 2)} ms/task at ${r.tasks.toLocaleString('en-US')}`, value: r.ms / r.tasks,
});
const k = (n: number): string => n.toLocaleString('en-US');

const rows: string[][] = [
  targetRow(`1. ${TRUE_TASKS} \`true\` commands, ${WORKERS} workers, worktrees, SQLite (time)`,
    map(commands, (c) => secondsCell(c.trueMs, '')), map(parallelTrue, (ms) => secondsCell(ms, ', parallel -j4')), { op: '≤', value: 2 }),
  targetRow(`2. ${SLEEP_TASKS} × \`sleep ${SLEEP_SECONDS}\`, ${WORKERS} workers (time; ideal ${fmt((SLEEP_TASKS * SLEEP_SECONDS) / WORKERS, 1)} s)`,
    map(commands, (c) => secondsCell(c.sleepMs, '')), map(parallelSleep, (ms) => secondsCell(ms, ', parallel -j4')), { op: '≤', value: 1.05 }),
  targetRow(`3. ${k(MODULE_TASKS)} no-op modules, \`workspace: none\`, memory (rate)`,
    map(memoryRun, (r) => rateCell(r.rate)), map(piscina, (s) => rateSummaryCell(s, ', piscina')), { op: '≥', value: 0.5 }),
  targetRow(`4. the same on SQLite (rate)`,
    map(sqliteRun, (r) => rateCell(r.rate)), map(bullmq, (s) => rateSummaryCell(s, ', BullMQ')), { op: '≥', value: 1 }),
  targetRow(`5. the same on PostgreSQL (rate)`,
    map(postgresRun, (r) => rateCell(r.rate)), map(pgboss, (s) => rateSummaryCell(s, ', pg-boss')), { op: '≥', value: 1 }),
  ...START_ROWS.map(({ files }) => {
    const times = starts.get(files) as Outcome<StartTimes>;
    return targetRow(`6. first start, ${WORKERS} workers ready, ${k(files)}-file repo (time)`,
      map(times, (t) => msCell(t.coordMs)), map(times, (t) => msCell(t.rawMs, ', raw')), { op: '≤', value: 0.5 });
  }),
  targetRow(`7. ${CHAIN_LENGTH}-task chain, each task commits (time)`,
    map(chainCommitting, (ms) => msCell(ms)), map(chainWarm, (ms) => msCell(ms, ', ignored file')), { op: '≤', value: 1.5 }),
  targetRow(`8. per-task cost at ${k(scale.tasks)} ÷ at ${k(MODULE_TASKS)}, SQLite`,
    map(scaleRun, perTaskCell), map(sqliteRun, perTaskCell), { op: '≤', value: 1.2 }),
];

report.text(
  'Each target row of the performance issue: coord\'s figure, its baseline measured in the same run, and the ratio next to the '
  + `target. ${WORKERS} workers unless the row says otherwise; figures with a range are the median of ${REPETITIONS} (min–max in `
  + `parentheses); the ${k(MODULE_TASKS)}-task coord runs are ${COORD_MODULE_REPETITIONS === 1 ? 'one timed run' : `the median of ${COORD_MODULE_REPETITIONS}`} after a `
  + `${MODULE_WARM_UP_TASKS}-task warm-up (the longest rows). Times are coord ÷ baseline (below 1: coord is faster), rates `
  + 'coord ÷ baseline (above 1: coord is faster).',
);
report.table(null, ['measure', 'coord', 'baseline (same run)', 'ratio', 'target', 'met?'], rows, ['l', 'r', 'r', 'r', 'r', 'l']);

const failures = [
  ['1–2 coord', commands], ['1 parallel', parallelTrue], ['2 parallel', parallelSleep], ['3 coord', memoryRun], ['3 piscina', piscina],
  ['4 coord', sqliteRun], ['4 BullMQ', bullmq], ['5 coord', postgresRun], ['5 pg-boss', pgboss],
  ...START_ROWS.map(({ files }) => [`6 (${k(files)} files)`, starts.get(files)] as const),
  ['7 committing', chainCommitting], ['7 warm', chainWarm], ['8 large', scaleRun],
] as const;
const notMeasured = failures.flatMap(([what, outcome]) => (outcome !== undefined && !outcome.ok ? [`row ${what}: ${outcome.reason}`] : []));
if (notMeasured.length > 0) report.text(`**Not measured.** ${notMeasured.join('; ')}.`);

report.text(
  `**1–2. Commands.** One supervisor with the SQLite store (the default) and a worktree per task (the default workspace), warmed up `
  + `with ${WORKERS * 2} \`true\`s so every worker has run a task; then ${REPETITIONS} batches of ${TRUE_TASKS} \`run: ['true']\` and `
  + `${REPETITIONS} of ${SLEEP_TASKS} \`run: ['sleep', '${SLEEP_SECONDS}']\`, each in a PTY, each timed from \`submit()\` to \`settled()\`. `
  + `The baseline is GNU \`parallel --will-cite -j${WORKERS}\` fed the same commands on stdin (after one warm-up run). `
  + `Row 2's ideal is ${SLEEP_TASKS} × ${SLEEP_SECONDS} s ÷ ${WORKERS} = ${fmt((SLEEP_TASKS * SLEEP_SECONDS) / WORKERS, 1)} s`
  + (commands.ok ? `; coord's ${fmt(seconds(commands.value.sleepMs.median), 2)} s is ${ratio(seconds(commands.value.sleepMs.median), (SLEEP_TASKS * SLEEP_SECONDS) / WORKERS)} of it.` : '.'),
);
if (commands.ok) {
  const { lanes, trueCpu } = commands.value;
  const laneRow = (label: string, l: LaneTimes, runMs: number): string[] =>
    [label, fmt(l.turnaround, 1), fmt(l.toStart, 1), fmt(l.toComplete - runMs, 1), fmt(l.turnaround + l.toStart + l.toComplete - runMs, 1)];
  report.text(
    '**What bounds rows 1–2.** Each worker\'s time per task, from the supervisor\'s events (medians over every task of the row): the '
    + 'supervisor\'s turn-around from one task\'s `coord:complete` to the next `coord:assigned` on that worker; from `coord:assigned` '
    + 'to `coord:started` (the hand-over, the assign over IPC, the worktree put on the task\'s branch, the spawn in a PTY); and from '
    + '`coord:started` to `coord:complete` less the command\'s own time (taken as 0 for `true` and 500 ms for `sleep 0.5`): the PTY\'s '
    + 'exit, the status that finds nothing to commit, the sweep and the result over IPC. The CPU each `true` task costs, supervisor '
    + `${fmt(trueCpu.supervisorMs, 2)} ms and ${WORKERS} workers ${fmt(trueCpu.workersMs, 2)} ms (their git runs in a shell they keep, `
    + `so git's own CPU is not in it), against ${CORES} cores, is what makes the lanes wait on each other in row 1.`,
  );
  report.table(null, ['row', 'turn-around ms', 'assigned → started ms', 'started → complete, less the command, ms', 'per task per lane, ms'], [
    laneRow('1. `true`', lanes.true, 0),
    laneRow('2. `sleep 0.5`', lanes.sleep, SLEEP_SECONDS * 1000),
  ]);
}
report.text(
  `**3–5. No-op module tasks.** \`{ module: noop-handler.mjs, workspace: 'none' }\`, ${k(MODULE_TASKS)} in one \`submit()\`, on a supervisor `
  + `warmed up with ${MODULE_WARM_UP_TASKS} of them, with the store \`memory:\`, \`sqlite:<state>/targets.db\` and PostgreSQL (a schema of `
  + 'this run\'s own on the local database, dropped afterwards). The baselines run the same handler: piscina alone with 4 threads '
  + `(${k(MODULE_TASKS)} \`run()\`s at once), BullMQ on the local Redis with concurrency ${WORKERS} (jobs added 1,000 at a time, `
  + `\`removeOnComplete\`), pg-boss with ${WORKERS} workers fetching batches of ${k(PGBOSS_BATCH)} (maintenance and scheduling off, `
  + `its schema dropped afterwards), each ${REPETITIONS} times after a warm-up, as the dispatch benchmark runs them.`,
);
const cpuRows: string[][] = [];
for (const [label, outcome] of [['in memory', memoryRun], ['SQLite', sqliteRun], ['PostgreSQL', postgresRun]] as const) {
  if (!outcome.ok) continue;
  const { supervisorMs, workersMs } = outcome.value.cpu;
  const total = supervisorMs + workersMs;
  cpuRows.push([label, fmt(supervisorMs, 2), fmt(workersMs, 2), fmt(total, 2), `${fmt((CORES * 1000) / total)}/s`, `${fmt(outcome.value.rate)}/s`]);
}
report.text(
  `**What bounds rows 3–5.** The CPU time each task costs, read around the timed run: the supervisor's (this process's) and the `
  + `${WORKERS} workers' together (\`/proc/<pid>/stat\`). With ${CORES} cores the whole machine can run at most ${CORES} s of CPU per second, `
  + 'so that cost alone sets a ceiling on the rate, whatever the scheduling; the rate measured is below it by what waiting costs.',
);
if (cpuRows.length > 0) report.table(null, ['store', 'supervisor CPU ms/task', 'workers CPU ms/task', 'total', `ceiling on ${CORES} cores`, 'measured'], cpuRows);
report.text(
  `**6. First start.** A fresh repository of ${START_ROWS.map(({ files }) => k(files)).join(' and of ')} committed files; each repetition a fresh `
  + 'worktree root and state folder, so all four worktrees are created. coord is timed from `createSupervisor(...)` and `start()` until '
  + `\`start()\` has resolved and \`status().workers\` shows ${WORKERS} workers \`idle\` (re-checked at every \`coord:worker-ready\` and every 5 ms). `
  + `The baseline, alternated with it: ${WORKERS} sequential \`git worktree add --detach <path> HEAD\` and ${WORKERS} sequential forks of `
  + '`bench/fixtures/first-message.mjs` until its first IPC message. '
  + START_ROWS.map(({ files, repetitions, warmUp }) => `${k(files)} files: ${repetitions === 1 ? 'one repetition' : `median of ${repetitions}`}${warmUp ? ', after an untimed warm-up of each' : ' (no warm-up of its own: node and git are warm from the row before)'}`).join('; ')
  + '.',
);
report.text(
  `**7. A chain of new start commits.** ${CHAIN_LENGTH} module tasks, each depending on the one before, on 1 worker (a chain runs one task `
  + 'at a time whatever the worker count). The handler (`bench/fixtures/write-file-handler.mjs`) writes a file into `context.worktree`: '
  + 'a new tracked file, so every task completes with a commit and the next one starts on it (today: a fresh thread for every task), '
  + `against the same chain writing under \`${IGNORED_FOLDER}/\`, which the repository's .gitignore ignores, so every task ends on its start `
  + `commit and the thread stays warm. The bench checks the commits: ${CHAIN_LENGTH} distinct ones in the first case, only the base commit `
  + `in the second. Median of ${REPETITIONS} chains on one supervisor per variant, after a 2-task warm-up chain.`,
);
const scaleTable: string[][] = [];
for (const [label, outcome] of [[`${k(MODULE_TASKS)} (row 4's run)`, sqliteRun], [k(scale.tasks), scaleRun]] as const) {
  if (!outcome.ok) continue;
  const r = outcome.value;
  scaleTable.push([label, fmt(seconds(r.ms), 1), fmt(r.rate), fmt(r.ms / r.tasks, 2), `${fmt(r.rssMiB)} (${fmt(r.rssBeforeMiB)} before)`, `${fmt(r.summaryBytes / 2 ** 20, 2)} MiB`]);
}
report.text(
  `**8. Scale.** No-op \`workspace: none\` module tasks on SQLite through the whole supervisor, ${WORKERS} workers, in one \`submit()\`: row 4's `
  + `${k(MODULE_TASKS)}-task run against a fresh supervisor running ${k(scale.tasks)}`
  + (scale.cut
    ? ` (not ${k(SCALE_TASKS_WANTED)}: at row 4's ${sqliteRun.ok ? fmt(sqliteRun.value.rate) : '?'} tasks/s that would take `
      + `${sqliteRun.ok ? fmt(SCALE_TASKS_WANTED / sqliteRun.value.rate / 60, 1) : '?'} minutes, so the largest size that fits in `
      + `${fmt(SCALE_BUDGET_SECONDS / 60)} minutes runs; \`BENCH_SCALE_TASKS\` sets the size)`
    : SCALE_TASKS_OVERRIDE !== null ? ' (set by `BENCH_SCALE_TASKS`)' : '')
  + `. The ratio is the per-task cost (time ÷ tasks) at the large size over that at ${k(MODULE_TASKS)}. RSS is this benchmark process's `
  + '(`process.memoryUsage().rss`, the supervisor lives in it; the workers are other processes) after `settled()`, with the figure before '
  + 'the supervisor was created; the summary is `JSON.stringify(await supervisor.summary())`, every task listed.',
);
if (scaleTable.length > 0) report.table(null, ['tasks', 'seconds', 'tasks/s', 'ms/task', 'RSS MiB after settled', 'run summary'], scaleTable);
report.write();
