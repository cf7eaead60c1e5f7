/**
 * The release budget: how many times recovery may take a task back after a supervisor crash
 * before the task is presumed to be what kills the supervisor. A release burns no attempt
 * (the task did not fail: its supervisor went away), so without this bound a task that kills
 * its supervisor would run forever as attempt 1 and wedge a service-managed queue. Orderly
 * releases (drain, stop, a worker that could not take the task) do not count: the supervisor
 * was alive to decide them.
 */
import type { TaskError } from './task-record.js';

/** Crash-releases before a task is dead with `TASK_KILLS_SUPERVISOR`, unless configured. */
export const DEFAULT_MAX_RELEASES = 3;

/** The reason recorded for a start that recovery took back at start-up (`releaseNode`). */
export const CRASH_RELEASE_REASON = 'supervisor restarted';

/** The reasons the supervisor itself gives for orderly releases (callers may give others). */
export const ORDERLY_RELEASE_REASONS = ['drain deadline reached', 'stop requested', 'worker unavailable'] as const;

/** What one more crash-release does to a task that had `crashReleasesBefore` of them. */
export interface CrashReleaseVerdict {
  /** The task's crash-release count after this one. */
  crashReleases: number;
  /** True when the budget is spent: the task goes dead instead of back to ready. */
  dead: boolean;
}

/** Counts one more crash-release against `maxReleases`. */
export function crashReleaseVerdict(crashReleasesBefore: number, maxReleases: number): CrashReleaseVerdict {
  const crashReleases = crashReleasesBefore + 1;
  return { crashReleases, dead: crashReleases >= maxReleases };
}

/** The dead-letter error of a task whose crash-release budget ran out. */
export function killsSupervisorError(taskId: string, crashReleases: number, maxReleases: number): TaskError {
  return {
    code: 'TASK_KILLS_SUPERVISOR',
    message:
      `task "${taskId}" was running each of the ${crashReleases} times its supervisor died (maxReleases ${maxReleases}): ` +
      'it is presumed to kill its supervisor and is not run again (redrive it once fixed)',
    details: { crashReleases, maxReleases },
  };
}
