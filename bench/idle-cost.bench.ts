/**
 * 8. Idle cost: CPU and memory of a supervisor with 4 idle workers, over 10 s, from /proc,
 * against an idle `node -e "setInterval(()=>{},1e9)"` sampled over the same 10 s.
 *
 * The supervisor is the real CLI (`node supervisor.js --workers 4 --repo …`, which without
 * `--tasks` starts its workers and waits), so the figures are what an idle coord costs a
 * machine: heartbeats every 2 s (the default), their parsing, the worker machines' timers.
 * Two 10 s windows are sampled: right after start-up, when V8 is still collecting the
 * garbage of loading everything, and 30 s later, which is what an idle coord costs for the
 * rest of its life.
 *
 * Run: npm run bench -- idle-cost
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT } from './lib/coord.js';
import { childPids, sampleWindow, type Watched, type WindowStats } from './lib/proc.js';
import { makeRepo } from './lib/repo.js';
import { Report } from './lib/report.js';
import { fmt, range, ratio } from './lib/stats.js';

const WORKERS = 4;
const WINDOW_S = 10;
/** The first window starts this long after the workers appeared … */
const EARLY_MS = 3_000;
/** … the second this long after the first ended. */
const GAP_MS = 20_000;

const report = new Report('idle-cost', '8. Idle cost');
const scratch = makeRepo(1);

/** Output of the started processes, shown only if the benchmark fails. */
const output: string[] = [];

function start(args: string[]): ChildProcess {
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

const supervisor = start([path.join(ROOT, 'supervisor.js'), '--workers', String(WORKERS), '--repo', scratch.repo,
  '--state-dir', scratch.stateDir, '--worktree-root', scratch.worktreeRoot]);
const baseline = start(['-e', 'setInterval(()=>{},1e9)']);

let processes: Watched[] = [];
let early: WindowStats[] = [];
let steady: WindowStats[] = [];
try {
  const supervisorPid = supervisor.pid as number;
  // Workers are the supervisor's node children; wait for all of them.
  const deadline = Date.now() + 30_000;
  let workers: number[] = [];
  while ((workers = childPids(supervisorPid)).length < WORKERS) {
    if (Date.now() > deadline || supervisor.exitCode !== null) throw new Error(`the supervisor did not start ${WORKERS} workers (found ${workers.length})`);
    await sleep(100);
  }
  processes = [
    { name: 'supervisor', pid: supervisorPid },
    ...workers.map((pid, i) => ({ name: `worker ${i + 1}`, pid })),
    { name: 'baseline: idle node', pid: baseline.pid as number },
  ];
  await sleep(EARLY_MS);
  early = await sampleWindow(processes, WINDOW_S);
  await sleep(GAP_MS);
  steady = await sampleWindow(processes, WINDOW_S);
} catch (error) {
  process.stderr.write(output.join(''));
  throw error;
} finally {
  await stop(supervisor);
  await stop(baseline);
  scratch.cleanup();
}

const baseIndex = processes.length - 1;
const base = steady[baseIndex] as WindowStats;
const rows = processes.map((p, i) => {
  const e = early[i] as WindowStats;
  const s = steady[i] as WindowStats;
  return [p.name, fmt(e.cpuPct, 3), fmt(s.cpuPct, 3), range(s.perSecond, 2), fmt(s.tickCpuPct, 1), ratio(s.cpuPct, base.cpuPct),
    fmt(s.rss.median, 1), range(s.rss, 1), ratio(s.rss.median, base.rss.median)];
});
const coordOnly = processes.map((_, i) => i).filter((i) => i !== baseIndex);
const sum = (windows: WindowStats[], pick: (w: WindowStats) => number): number => coordOnly.reduce((total, i) => total + pick(windows[i] as WindowStats), 0);
const n = WORKERS + 1;
rows.splice(baseIndex, 0, [`coord total (supervisor + ${WORKERS} workers)`, fmt(sum(early, (w) => w.cpuPct), 3), fmt(sum(steady, (w) => w.cpuPct), 3), '',
  fmt(sum(steady, (w) => w.tickCpuPct), 1), ratio(sum(steady, (w) => w.cpuPct), base.cpuPct * n),
  fmt(sum(steady, (w) => w.rss.median), 1), '', ratio(sum(steady, (w) => w.rss.median), base.rss.median * n)]);

const earlyFrom = EARLY_MS / 1000;
const steadyFrom = earlyFrom + WINDOW_S + GAP_MS / 1000;
report.text(
  `A supervisor started with \`node supervisor.js --workers ${WORKERS}\` on a scratch repository and no tasks, beside an idle `
  + '`node -e "setInterval(()=>{},1e9)"` started at the same moment. Each process is sampled every second for '
  + `${WINDOW_S} s, twice: ${earlyFrom}–${earlyFrom + WINDOW_S} s after the workers appeared ("after start") and `
  + `${steadyFrom}–${steadyFrom + WINDOW_S} s ("steady"). CPU is the run time of all the process's threads from `
  + '`/proc/<pid>/task/*/schedstat` (ns resolution; 100 % = one core), cross-checked against `/proc/<pid>/stat` '
  + '(utime + stime in 10 ms ticks); RSS is VmRSS from `/proc/<pid>/status`. The total row compares with '
  + `${n} idle node processes; "–" where the idle node used no CPU at all, i.e. every CPU millisecond is coord's.`,
);
report.table(null, ['process', 'CPU % after start', 'CPU % steady', 'steady per-second min–max', 'steady CPU % (stat ticks)',
  'steady CPU ÷ idle node', 'RSS MiB (median)', 'RSS min–max', 'RSS ÷ idle node'], rows);
report.text(
  'Right after start the CPU is mostly V8 collecting the garbage of start-up (the memory reducer runs a few full GCs once a '
  + 'process goes quiet); steady, what remains is the heartbeat: every 2 s each worker builds, validates and sends '
  + '`coord:heartbeat`, and the supervisor parses it and re-enters the worker machine\'s state to restart its '
  + 'heartbeat-timeout timer. Memory is the Node baseline plus coord\'s modules (xstate, zod schemas, pino in the supervisor; '
  + 'zod, node-pty and piscina in each worker).',
);
report.write();
