/**
 * What an attempt's processes are doing, for its liveness: CPU time used by the attempt (its
 * cgroup's `cpu.stat` when it has one, else its process group's, from `/proc`) and changes to
 * files in its worktree (a recursive watch that ignores `.git`). Sampled, never trusted alone.
 */
import { readdirSync, readFileSync, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';

/** CPU microseconds the attempt used so far, or null when it cannot be read. */
export function attemptCpuMicros(cgroupDir: string | null, leaderPid: number): number | null {
  if (cgroupDir !== null) {
    try {
      const match = /^usage_usec (\d+)$/m.exec(readFileSync(path.join(cgroupDir, 'cpu.stat'), 'utf8'));
      if (match) return Number(match[1]);
    } catch {
      // the cgroup is gone (the attempt ended) or unreadable: fall back to the group
    }
  }
  return processGroupCpuMicros(leaderPid);
}

const TICK_MICROS = 1_000_000 / 100; // USER_HZ is 100 on Linux

/** utime + stime of every process in the process group `pgid`, in microseconds. */
function processGroupCpuMicros(pgid: number): number | null {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return null;
  }
  let ticks = 0;
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // after the comm: state(0) ppid(1) pgrp(2) … utime(11) stime(12)
      if (Number(fields[2]) === pgid) ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // the process ended meanwhile
    }
  }
  return ticks * TICK_MICROS;
}

/** Calls `onChange` when a file under `dir` (but `.git`) changes; returns a stop function. Never throws. */
export function watchWorktree(dir: string, onChange: () => void): () => void {
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dir, { recursive: true, persistent: false }, (_event, file) => {
      const name = typeof file === 'string' ? file : '';
      if (name === '.git' || name.startsWith(`.git${path.sep}`)) return;
      onChange();
    });
    watcher.on('error', () => watcher?.close());
  } catch {
    watcher = undefined; // no recursive watch here: CPU and output remain as evidence
  }
  return () => watcher?.close();
}
