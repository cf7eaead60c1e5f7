/**
 * Ends every process of an attempt, a worker slot or a whole run: first the attempt cgroups
 * the selector names (the kernel kills everything inside at once, whatever those processes
 * did to their session, group or environment), then every process still carrying a selected
 * marker (anything that started before it was moved into the cgroup, or that runs where no
 * cgroup could be made), then the emptied cgroups are removed.
 *
 * Used after an attempt's process-group kill (workers/run-pty.ts), by a worker that exits or
 * loses its supervisor, by the supervisor when a worker dies holding a task, and by the
 * supervisor when it stops.
 */
import type { MarkerSelector } from './attempt-marker.js';
import { cgroupEmpty, cgroupPids, killCgroup, listAttemptCgroups, removeCgroup, removeCgroupSync } from './cgroup.js';
import { sweepMarked, type SweepDeps, type SweepResult } from './sweep-marked.js';

/** What a reap did. */
export interface ReapResult {
  /** Processes that were in the selected cgroups when they were killed. */
  cgroupPids: number[];
  /** Cgroups that could not be removed yet (a process stuck in the kernel); left for a later reap. */
  cgroupsLeft: string[];
  sweep: SweepResult;
}

/** Where attempt cgroups live (null: none are used) and the sweep's dependencies. */
export interface ReapOptions {
  cgroupBase: string | null;
  sweep?: SweepDeps;
}

/**
 * Kills now. With `removeWithinMs`, also removes the emptied cgroups, blocking up to that long
 * for each (for a process about to exit, which cannot await); without, leaves that to the caller.
 */
export function reapNow(selector: MarkerSelector, options: ReapOptions, removeWithinMs = 0): { cgroups: string[]; result: ReapResult } {
  const cgroups = options.cgroupBase === null ? [] : listAttemptCgroups(options.cgroupBase, selector);
  const pids: number[] = [];
  for (const dir of cgroups) {
    // Nothing in it nor below it: nothing can get in but by a move from outside, and the
    // kill (a write the kernel answers slowly on a loaded machine) has nothing to do.
    if (cgroupEmpty(dir)) continue;
    pids.push(...cgroupPids(dir));
    killCgroup(dir);
  }
  const sweep = sweepMarked(selector, options.sweep);
  const left = removeWithinMs > 0 ? cgroups.filter((dir) => !removeCgroupSync(dir, removeWithinMs)) : cgroups;
  return { cgroups: left, result: { cgroupPids: pids, cgroupsLeft: left, sweep } };
}

/**
 * Kills every selected process and removes the selected cgroups once they are empty.
 *
 * @example
 * const result = await reap(runSelector(runId), { cgroupBase: locateOwnCgroup() });
 */
export async function reap(selector: MarkerSelector, options: ReapOptions): Promise<ReapResult> {
  const { cgroups, result } = reapNow(selector, options);
  const removed = await Promise.all(cgroups.map(async (dir) => ((await removeCgroup(dir)) ? null : dir)));
  return { ...result, cgroupsLeft: removed.filter((dir): dir is string => dir !== null) };
}

/** True when a reap found anything to kill (worth a log line). */
export function reapedAnything(result: ReapResult): boolean {
  return result.cgroupPids.length > 0 || result.sweep.killed.length > 0;
}
