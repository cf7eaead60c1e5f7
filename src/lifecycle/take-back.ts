/**
 * Taking an in-flight task's open attempt back without a verdict: shared by releases (the
 * task goes back to ready) and by a block before the task started (its claim never ran).
 */
import { firstStart, openAttempt } from './attempts.js';
import type { Draft } from './draft.js';
import { storeEvents } from './events.js';
import { isoTime } from './iso-time.js';
import type { AgentReport } from './outcomes.js';
import type { TaskRow, TaskRows } from './rows.js';

/**
 * Why and when a start is taken back, whether a supervisor crash did it, and what the run
 * reported of its agent (a deferral does; a release, a crash or a block has nothing to say).
 */
export interface ReleaseNote extends AgentReport {
  now: number;
  reason: string;
  crash: boolean;
}

/**
 * Takes the open attempt of `rows.task` back, leaving the status to the caller: the attempt
 * row moves to `releases` with its reason, `releases` (and, for a crash, `crashReleases`) is
 * counted, the holder is cleared, and `startedAt` is the first counted run's again. Logs the
 * release. Returns the task's row as it now is.
 */
export function takeBack(draft: Draft, rows: TaskRows, note: ReleaseNote): TaskRow {
  const { task } = rows;
  const open = openAttempt(rows);
  const { now, reason, crash } = note;
  draft.release({
    taskId: task.id, seq: task.releases + 1, attempt: open.attempt, node: open.node, worker: open.worker, lease: open.lease,
    assignedAt: open.assignedAt, startedAt: open.startedAt, releasedAt: isoTime(now), reason, crash,
    session: note.session ?? null, usage: note.usage ?? null,
  });
  draft.dropAttempt(task.id, open.attempt);
  draft.event(storeEvents.released(task.id, task.node, open.attempt, reason, crash, now));
  return draft.update(task, {
    attemptCount: task.attemptCount - 1,
    releases: task.releases + 1,
    crashReleases: task.crashReleases + (crash ? 1 : 0),
    startedAt: firstStart(rows.attempts, open.attempt),
    lease: null, leaseExpiresAt: null, worker: null, node: null,
  });
}
