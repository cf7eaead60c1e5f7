/**
 * The supervisor's share of "every process of a task ends with it". Workers end their own
 * attempts' leftovers; this covers what a worker can no longer do: when a worker dies holding
 * a task (SIGKILL, a crash, a hang the supervisor killed), the processes of that attempt —
 * re-parented, detached, still carrying the attempt marker or sitting in its cgroup — are
 * killed here; and when the supervisor stops, everything of its run is.
 */
import { newRunId, attemptSelector, runSelector } from '../procs/attempt-marker.js';
import { locateOwnCgroup } from '../procs/cgroup.js';
import { reap, reapedAnything, type ReapResult } from '../procs/reap.js';
import type { Logger } from '../log/logger.js';

/** The attempt a lost task was running, as the worker machine reports it. */
export interface LostAttempt {
  taskId: string;
  attempt: number;
  lease: string;
}

/** Kills the leftovers of lost attempts and of the whole run. */
export interface TaskReaper {
  /** This supervisor's run id, sent to every worker in `coord:hello`. */
  readonly runId: string;
  /** Ends the processes of an attempt whose worker died. Never rejects. */
  attemptLost(workerId: string, task: LostAttempt): Promise<void>;
  /** Ends every process of this run (at stop). Never rejects. */
  runEnded(): Promise<void>;
}

/**
 * Creates the reaper for one supervisor; the run id is made here, once.
 *
 * @example
 * const reaper = createTaskReaper(() => logger);
 * await reaper.runEnded();
 */
export function createTaskReaper(logger: () => Logger, runId: string = newRunId()): TaskReaper {
  // Workers are forked from this process and make their attempt cgroups under their own
  // cgroup, which is this one's unless something moved them: looked up once.
  let cgroupBase: string | null | undefined;
  const run = async (what: Record<string, unknown>, selector: Parameters<typeof reap>[0]): Promise<void> => {
    cgroupBase ??= locateOwnCgroup();
    let result: ReapResult;
    try {
      result = await reap(selector, { cgroupBase });
    } catch (error) {
      logger().warn({ ...what, err: error }, 'could not sweep leftover task processes');
      return;
    }
    const fields = { ...what, pids: [...new Set([...result.cgroupPids, ...result.sweep.killed])], sweepMs: Math.round(result.sweep.durationMs) };
    if (reapedAnything(result)) logger().warn(fields, 'killed leftover task processes');
    else logger().debug(fields, 'no leftover task processes');
    if (result.cgroupsLeft.length > 0) logger().warn({ ...what, cgroups: result.cgroupsLeft }, 'attempt cgroups still populated; not removed');
  };
  return {
    runId,
    attemptLost: (workerId, task) => run({ workerId, taskId: task.taskId, attempt: task.attempt },
      attemptSelector({ runId, workerId, taskId: task.taskId, attempt: task.attempt, lease: task.lease })),
    runEnded: () => run({ runId }, runSelector(runId)),
  };
}
