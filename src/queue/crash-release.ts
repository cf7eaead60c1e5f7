/**
 * Recovery's release: taking back a task whose holder (a supervisor) crashed. It is a
 * release — no attempt burnt, the start kept in `released` — that counts towards the
 * task's release budget; the one that spends the budget ends the task `dead` with
 * `TASK_KILLS_SUPERVISOR` instead of `ready`, blocking its dependents as any death does.
 */
import { blockDependents } from './dependents.js';
import { releaseAttempt, takeBackAttempt } from './in-flight.js';
import { CRASH_RELEASE_REASON, crashReleaseVerdict, killsSupervisorError } from './release-budget.js';
import type { TaskTable } from './task-table.js';
import { isoTime, type MutableTaskRecord } from './task-record.js';

/** A task taken back from a crashed holder. */
export interface NodeRelease {
  taskId: string;
  /** The attempt number the released start ran under. */
  attempt: number;
  /** True when its crash-release budget ran out: it is dead (`TASK_KILLS_SUPERVISOR`), not ready. */
  dead: boolean;
  /** Dependents blocked by that death, breadth first (empty unless `dead`). */
  blocked: string[];
}

/** Crash-releases `record` (in flight; its lease the caller's to give up) against `maxReleases`. */
export function crashRelease(table: TaskTable, record: MutableTaskRecord, now: number, maxReleases: number): NodeRelease {
  const taskId = record.spec.id;
  const attempt = record.attempts.length;
  const verdict = crashReleaseVerdict(record.crashReleases, maxReleases);
  const note = { now, reason: CRASH_RELEASE_REASON, crash: true };
  if (!verdict.dead) {
    releaseAttempt(table, record, note);
    return { taskId, attempt, dead: false, blocked: [] };
  }
  // Not through endTask: the open attempt is no longer open (it moved to `released`), so
  // there is nothing to close; the exit code of an earlier attempt, if any, stays.
  takeBackAttempt(record, note);
  record.error = killsSupervisorError(taskId, verdict.crashReleases, maxReleases);
  record.finishedAt = isoTime(now);
  table.setStatus(record, 'dead');
  return { taskId, attempt, dead: true, blocked: blockDependents(table, record.dependents, record, now) };
}
