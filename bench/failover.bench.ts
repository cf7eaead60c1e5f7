/**
 * 9. Failover: how long work waits when a supervisor dies.
 *
 * - Resume after `kill -9` (SQLite, one host): the supervisor is killed while its 4 workers
 *   run tasks, then started again on the same state directory without a task file; timed
 *   from the second start to the first killed task running again. Baseline: a fresh run on
 *   the same repository and worktrees, from start to its first task running.
 * - Host failover (PostgreSQL, two hosts with their own clones): host A is killed with -9
 *   while it runs two tasks and host B sits idle; timed from the kill to A's tasks running
 *   on B. Baseline: the lease length, which bounds it by design (A's last renewal was at
 *   most a third of a lease before the kill; B reaps every quarter of a lease).
 *
 * Tasks append "<task> <attempt>" to a marks file when they start; the benchmark polls it.
 *
 * Run: npm run bench -- failover
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { ROOT } from './lib/coord.js';
import { postgresConnection } from './lib/peers.js';
import { makeRepo, type BenchRepo } from './lib/repo.js';
import { Report } from './lib/report.js';
import { fmt, range, ratio, summarize, type Summary } from './lib/stats.js';

const REPETITIONS = 3;
const LEASE_MS = 4_000;
const report = new Report('failover', '9. Failover: resume after kill -9, and a dead host\'s tasks');

function startCli(args: string[]): ChildProcess {
  return spawn(process.execPath, [path.join(ROOT, 'supervisor.js'), ...args], { stdio: 'ignore' });
}

async function killed(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

/** Tasks that note their start and then run long enough to be caught in flight. */
function sleepers(count: number, marks: string, prefix = 's'): Array<{ id: string; run: string[] }> {
  return Array.from({ length: count }, (_, i) => ({ id: `${prefix}${i}`, run: ['sh', '-c', `echo "$COORD_TASK_ID $COORD_ATTEMPT" >> ${marks}; sleep 120`] }));
}

function marksOf(file: string): Array<{ task: string; attempt: number }> {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((line) => {
    const [task = '', attempt = '0'] = line.split(' ');
    return { task, attempt: Number(attempt) };
  });
}

/** Polls until `predicate` holds (10 ms steps); resolves with performance.now() at that moment. */
async function when(predicate: () => boolean, what: string, timeoutMs = 60_000): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (predicate()) return performance.now();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

// ── resume after kill -9 ─────────────────────────────────────────────────────

async function resumeOnce(rep: number): Promise<{ fresh: number; resume: number }> {
  const scratch = makeRepo(1);
  const children: ChildProcess[] = [];
  try {
    const marks = path.join(scratch.dir, 'marks');
    const taskFile = path.join(scratch.dir, 'tasks.json');
    writeFileSync(taskFile, JSON.stringify({ tasks: sleepers(8, marks) }));
    // Other ids for the warm-up: a new state directory would refuse branches it does not own.
    const warmFile = path.join(scratch.dir, 'warm.json');
    writeFileSync(warmFile, JSON.stringify({ tasks: sleepers(1, marks, 'warm') }));
    const common = ['--workers', '4', '--repo', scratch.repo, '--worktree-root', scratch.worktreeRoot, '--once'];
    // Worktrees exist before either timed start, so both compare like with like.
    const warm = startCli([...common, '--state-dir', path.join(scratch.dir, 'warm'), '--tasks', warmFile]);
    children.push(warm);
    await when(() => marksOf(marks).length >= 1, 'the warm-up run');
    await killed(warm);
    writeFileSync(marks, '');

    // Fresh: a new state directory, the same worktrees, start → first task running.
    const freshStart = performance.now();
    const first = startCli([...common, '--state-dir', scratch.stateDir, '--tasks', taskFile]);
    children.push(first);
    const fresh = (await when(() => marksOf(marks).length >= 1, 'the first task')) - freshStart;
    await when(() => marksOf(marks).length >= 4, 'four tasks in flight');
    await killed(first);
    await new Promise((resolve) => setTimeout(resolve, 300)); // the orphaned workers exit

    // Resume: the same state directory, no task file, start → a killed task running again.
    const resumeStart = performance.now();
    const second = startCli([...common, '--state-dir', scratch.stateDir]);
    children.push(second);
    // A released task runs again under the same attempt number (a restart burns none): look
    // for a task that has started twice.
    const startedTwice = (): boolean => {
      const seen = new Set<string>();
      return marksOf(marks).some((m) => seen.has(m.task) || !seen.add(m.task));
    };
    const resume = (await when(startedTwice, 'a task to run again')) - resumeStart;
    process.stdout.write(`  rep ${rep}: fresh ${fmt(fresh)} ms, resume ${fmt(resume)} ms\n`);
    return { fresh, resume };
  } finally {
    for (const child of children) await killed(child);
    await new Promise((resolve) => setTimeout(resolve, 300));
    scratch.cleanup();
  }
}

// ── host failover ────────────────────────────────────────────────────────────

async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client(postgresConnection);
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await client.end();
}

function storeUrl(schema: string): string {
  const { user, host, port, database } = postgresConnection;
  return `postgres://${encodeURIComponent(user)}@${host}:${port}/${database}?schema=${schema}`;
}

/** A bare origin and two clones of `seed`. */
function twoHosts(seed: BenchRepo): [string, string] {
  const origin = path.join(seed.dir, 'origin.git');
  execFileSync('git', ['clone', '--quiet', '--bare', seed.repo, origin]);
  return [0, 1].map((i) => {
    const clone = path.join(seed.dir, `host-${i}`);
    execFileSync('git', ['clone', '--quiet', origin, clone]);
    execFileSync('git', ['-C', clone, 'config', 'user.email', 'bench@coord.invalid']);
    execFileSync('git', ['-C', clone, 'config', 'user.name', 'coord bench']);
    return clone;
  }) as [string, string];
}

async function failoverOnce(rep: number): Promise<number> {
  const scratch = makeRepo(1);
  const schema = `coord_bench_failover_${process.pid}_${rep}`;
  const children: ChildProcess[] = [];
  try {
    const [cloneA, cloneB] = twoHosts(scratch);
    const marks = path.join(scratch.dir, 'marks');
    const taskFile = path.join(scratch.dir, 'tasks.json');
    writeFileSync(taskFile, JSON.stringify({ tasks: sleepers(2, marks) }));
    const host = (clone: string, node: string, workers: number, tasks: string[]): ChildProcess => {
      const child = startCli([
        '--workers', String(workers), '--repo', clone, '--state-dir', path.join(scratch.dir, `${node}-state`),
        '--worktree-root', path.join(scratch.dir, `${node}-worktrees`), '--store', storeUrl(schema), '--node-id', node,
        '--lease-ms', String(LEASE_MS), '--once', ...tasks,
      ]);
      children.push(child);
      return child;
    };
    const a = host(cloneA, 'host-a', 2, ['--tasks', taskFile]);
    await when(() => marksOf(marks).length >= 2, 'both tasks running on host A');
    // B joins with nothing to do: it waits for work on LISTEN/NOTIFY.
    host(cloneB, 'host-b', 2, []);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const killedAt = performance.now();
    await killed(a);
    const rerun = (await when(() => marksOf(marks).filter((m) => m.attempt >= 2).length >= 2, 'both tasks running on host B', 60_000)) - killedAt;
    process.stdout.write(`  rep ${rep}: A's tasks running on B ${fmt(rerun)} ms after the kill (lease ${LEASE_MS} ms)\n`);
    return rerun;
  } finally {
    for (const child of children) await killed(child);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await dropSchema(schema);
    scratch.cleanup();
  }
}

// ── run ──────────────────────────────────────────────────────────────────────

const resumes: Array<{ fresh: number; resume: number }> = [];
for (let rep = 0; rep < REPETITIONS; rep += 1) resumes.push(await resumeOnce(rep));
const failovers: number[] = [];
for (let rep = 0; rep < REPETITIONS; rep += 1) failovers.push(await failoverOnce(rep));

const fresh: Summary = summarize(resumes.map((r) => r.fresh));
const resume: Summary = summarize(resumes.map((r) => r.resume));
const failover: Summary = summarize(failovers);

report.text(
  'Two ways a supervisor dies. On one host, `kill -9` and start again on the same state directory (SQLite store, 4 workers, '
    + '8 long tasks, 4 in flight at the kill). On two hosts sharing PostgreSQL, host A is killed with -9 while it runs two '
    + `tasks and host B is idle: B reaps A's expired leases and runs them. Lease ${LEASE_MS / 1000} s here (the default is 15 s). `
    + `Medians of ${REPETITIONS} repetitions, ms.`,
);
report.table(
  null,
  ['measure', 'median ms', 'min–max', 'baseline', 'baseline ms', 'measure ÷ baseline'],
  [
    ['resume after kill -9: start → a killed task running again', fmt(resume.median), range(resume), 'fresh run: start → first task running', fmt(fresh.median), ratio(resume.median, fresh.median)],
    [`dead host: kill → its tasks running on the other host`, fmt(failover.median), range(failover), 'the lease length', fmt(LEASE_MS), ratio(failover.median, LEASE_MS)],
  ],
);
report.text(
  'A resumed run costs what a fresh one costs: reading the store and releasing the tasks the node held is a few queries. '
    + 'A dead host\'s tasks wait for its leases to expire (its last renewal was at most a third of a lease before the kill) plus '
    + 'the survivor\'s next reap tick (every quarter lease), so between 0.67 and 1.25 leases: 10–19 s at the default 15 s, '
    + 'against BullMQ\'s 30 s stalled-job check and pg-boss\'s heartbeat plus 60 s monitor.',
);
report.write();
