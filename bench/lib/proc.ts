/**
 * Process-level baselines shared by several benchmarks: forking a trivial child until its
 * first IPC message, reading a process's CPU time and memory from /proc, and sampling a set
 * of processes over a window.
 */
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fixture } from './coord.js';
import { summarize, type Summary } from './stats.js';

/** Forks `bench/fixtures/first-message.mjs`; resolves with the ms until it spoke, once it has exited again. */
export async function forkToFirstMessage(): Promise<number> {
  const started = performance.now();
  const child = fork(fixture('first-message.mjs'), [], { serialization: 'json', stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  await once(child, 'message');
  const elapsed = performance.now() - started;
  await stopChild(child);
  return elapsed;
}

/** Disconnects (or kills) a child and waits for it to exit. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  if (child.connected) child.disconnect();
  else child.kill('SIGKILL');
  const timer = setTimeout(() => child.kill('SIGKILL'), 2_000);
  await exited;
  clearTimeout(timer);
}

/** Clock ticks per second for /proc/<pid>/stat times (sysconf(_SC_CLK_TCK), 100 on Linux). */
const CLOCK_TICKS = 100;

/** CPU time (user + system) a process has used so far, in ms. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces: parse after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / CLOCK_TICKS;
}

/**
 * CPU time of a process in ms with nanosecond resolution: the sum of `/proc/<pid>/task/<tid>/schedstat`
 * (first field: time on a CPU, ns) over its live threads. Much finer than the 10 ms ticks of
 * `/proc/<pid>/stat`, which an idle process crosses only a few times in 10 s. Threads that
 * ended meanwhile drop out of the sum, so use it on steady processes.
 */
export function cpuMsPrecise(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // The thread ended between listing and reading.
    }
  }
  return ns / 1e6;
}

/** Resident set size of a process, in MiB (VmRSS from /proc/<pid>/status). */
export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

/** Direct children of a process (from /proc/<pid>/task/<pid>/children). */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** A process to sample, by the name its table row gets. */
export interface Watched {
  name: string;
  pid: number;
}

/** One process over one sampling window. */
export interface WindowStats {
  /** CPU % over the window (schedstat, all threads; 100 = one core). */
  cpuPct: number;
  /** The same from /proc/<pid>/stat ticks (10 ms resolution), as a cross-check. */
  tickCpuPct: number;
  /** CPU % of each second. */
  perSecond: Summary;
  /** VmRSS in MiB, read every second. */
  rss: Summary;
}

/**
 * Samples every process once a second for `seconds` s: CPU from schedstat (and stat ticks,
 * to cross-check) and RSS. The processes are read together, so they share the window.
 */
export async function sampleWindow(processes: readonly Watched[], seconds: number): Promise<WindowStats[]> {
  const firstTicks = processes.map((p) => cpuMs(p.pid));
  const first = processes.map((p) => cpuMsPrecise(p.pid));
  const perSecond: number[][] = processes.map(() => []);
  const rss: number[][] = processes.map(() => []);
  let last = first;
  let lastAt = performance.now();
  for (let second = 0; second < seconds; second += 1) {
    await sleep(1_000);
    const now = performance.now();
    const cpu = processes.map((p) => cpuMsPrecise(p.pid));
    processes.forEach((p, i) => {
      perSecond[i]?.push((100 * ((cpu[i] as number) - (last[i] as number))) / (now - lastAt));
      rss[i]?.push(rssMiB(p.pid));
    });
    last = cpu;
    lastAt = now;
  }
  return processes.map((p, i) => ({
    cpuPct: (100 * ((last[i] as number) - (first[i] as number))) / (seconds * 1000),
    tickCpuPct: (100 * (cpuMs(p.pid) - (firstTicks[i] as number))) / (seconds * 1000),
    perSecond: summarize(perSecond[i] as number[]),
    rss: summarize(rss[i] as number[]),
  }));
}

/**
 * GNU parallel's binary, installed with apt when it is missing and this runs as root; null
 * when it cannot be had (the benchmark then leaves its row out and says so).
 */
export function gnuParallel(): string | null {
  const isGnuParallel = (): boolean => {
    const found = spawnSync('parallel', ['--version'], { encoding: 'utf8' });
    return found.status === 0 && found.stdout.includes('GNU parallel');
  };
  if (isGnuParallel()) return 'parallel';
  if (process.getuid?.() !== 0) return null;
  spawnSync('apt-get', ['install', '-y', '-q', 'parallel'], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  return isGnuParallel() ? 'parallel' : null;
}
