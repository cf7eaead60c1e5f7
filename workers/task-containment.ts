/**
 * Keeps track of every process of one attempt, beyond its process group: the attempt
 * marker is in the task's environment (see task-env.ts), and where the worker may create
 * cgroups the task is spawned into its own one. {@link AttemptContainment.reap} ends
 * whatever is left once the attempt is over (after the group kill): the cgroup's processes,
 * then every process carrying the marker, such as a double-forked `setsid` daemon.
 */
import { attemptCgroupDir, createAttemptCgroup } from '../src/procs/cgroup.js';
import { reap, type ReapResult } from '../src/procs/reap.js';

/** A program and its arguments, as node-pty spawns them. */
export interface SpawnTarget {
  file: string;
  args: string[];
}

/** The containment of one attempt. */
export interface AttemptContainment {
  /** The attempt's marker (also in its environment). */
  readonly marker: string;
  /** The attempt's cgroup, once {@link wrap} created it; null when it runs without one. */
  readonly cgroupDir: string | null;
  /** What to spawn so the task starts inside its cgroup (unchanged when there is none). */
  wrap(target: SpawnTarget): SpawnTarget;
  /** Kills every process left of the attempt and removes its cgroup. Never rejects. */
  reap(): Promise<ReapResult | null>;
}

// The shell moves itself into the cgroup, then becomes the program: every process the task
// ever starts begins inside the cgroup, with no window in which a fast fork could escape it
// (moving the pid from outside after the spawn would leave one). If the move fails the task
// still runs, contained by its group and marker only. `$0` is the cgroup.procs path, "$@"
// the program and its arguments.
const ENTER_CGROUP = '{ echo $$ > "$0"; } 2>/dev/null; exec "$@"';

/**
 * The containment for the attempt with `marker`; `cgroupBase` is where attempt cgroups go
 * (from the worker's probe), null when cgroups are not used.
 *
 * @example
 * const containment = containAttempt(marker, cgroupBase);
 * const { file, args } = containment.wrap({ file: '/usr/bin/npm', args: ['test'] });
 */
export function containAttempt(marker: string, cgroupBase: string | null): AttemptContainment {
  let cgroupDir: string | null = null;
  return {
    marker,
    get cgroupDir() {
      return cgroupDir;
    },
    wrap(target) {
      if (cgroupBase === null) return target;
      const dir = attemptCgroupDir(cgroupBase, marker);
      if (!createAttemptCgroup(dir)) return target;
      cgroupDir = dir;
      return { file: '/bin/sh', args: ['-c', ENTER_CGROUP, `${dir}/cgroup.procs`, target.file, ...target.args] };
    },
    async reap() {
      try {
        return await reap({ exact: marker }, { cgroupBase });
      } catch {
        return null; // a sweep reads /proc and may race with anything; it must not fail the attempt
      }
    },
  };
}
