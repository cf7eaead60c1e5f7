/**
 * A finished agent task runs again to take a message (src/mailbox/): the mailbox reopens it.
 * A complete task goes back to `ready` with a fresh attempt budget, keeping its commit (the
 * next run starts from its own branch) and its history; dependents that have not started yet
 * wait for the new run (one unmet dependency more). A dead task is redriven (redrive.ts).
 * And the override: a task a loop safeguard blocked (`LOOP_*`) is complete again, with the
 * operator's reason logged.
 */
import { Draft, noChange, type Plan } from './draft.js';
import { storeEvents } from './events.js';
import type { TaskRow } from './rows.js';
import type { CoordErrorCode } from '../errors.js';

/** The codes a safeguard blocks with, which `unblock` lifts. */
export const SAFEGUARD_CODES: readonly CoordErrorCode[] = ['LOOP_NO_PROGRESS', 'LOOP_REPEATED_FINDING'];

/** True when `reopen` applies to the row (complete; a dead task is redriven instead). */
export function isReopenable(row: Pick<TaskRow, 'status'>): boolean {
  return row.status === 'complete';
}

/**
 * complete → ready with a fresh budget (`attemptBase`), its commit kept; each dependent still
 * `pending` or `ready` gets one unmet dependency more and is `pending`. Answers the ids
 * changed, this task first; nothing, changing nothing, when the task is not complete.
 */
export function planReopen(task: TaskRow, dependents: readonly TaskRow[], reason: string, now: number): Plan<string[]> {
  if (!isReopenable(task)) return noChange([]);
  const draft = new Draft();
  draft.update(task, {
    status: 'ready', attemptBase: task.attemptCount, crashReleases: 0, rateLimitWaits: 0, error: null, finishedAt: null, readyAt: 0,
  });
  draft.event(storeEvents.reopened(task.id, task.status, reason, task.attemptCount, now));
  const waiting: string[] = [];
  for (const dependent of dependents) {
    if (dependent.status !== 'pending' && dependent.status !== 'ready') continue;
    draft.update(dependent, { unmetDeps: dependent.unmetDeps + 1, status: 'pending' });
    waiting.push(dependent.id);
  }
  return draft.plan([task.id, ...waiting]);
}

/** True when `unblock` applies: a safeguard blocked the task. */
export function isOverridable(row: Pick<TaskRow, 'status' | 'error'>): boolean {
  return row.status === 'blocked' && row.error !== null && SAFEGUARD_CODES.includes(row.error.code);
}

/** blocked by a safeguard → complete (its last run's work stands), the override logged. Nothing otherwise. */
export function planOverride(task: TaskRow, reason: string, now: number): Plan<boolean> {
  if (!isOverridable(task) || task.error === null) return noChange(false);
  const draft = new Draft();
  draft.update(task, { status: 'complete', error: null });
  draft.event(storeEvents.overridden(task.id, task.error.code, reason, now));
  return draft.plan(true);
}
