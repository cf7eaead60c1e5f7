/**
 * Ending a task without success, and what that does downstream: a task that can never
 * complete (dead, blocked, cancelled) blocks every task that depends on it, transitively,
 * breadth first, with `DEP_DEAD`. `block` (e.g. `DEP_CONFLICT`: its dependencies' branches
 * conflict) and `cancel` are the two ways to end a task from outside; a death by failure
 * (fail.ts) or by crash-releases (release.ts) blocks through the same walk.
 */
import { Draft, noChange, type Plan } from './draft.js';
import { storeEvents } from './events.js';
import { blockOrder } from './graph-walk.js';
import { openAttempt } from './attempts.js';
import { isoTime } from './iso-time.js';
import { takeBack } from './take-back.js';
import type { Subgraph, TaskRow, TaskRows } from './rows.js';
import { IN_FLIGHT_STATUSES, TERMINAL_STATUSES, type TaskError, type TaskStatus } from './task-record.js';

/** The error of a task blocked because dependency `depId` ended in `depStatus` (dead, blocked or cancelled). */
export function depDeadError(depId: string, depStatus: TaskStatus): TaskError {
  const fate = depStatus === 'dead' ? 'is dead' : depStatus === 'cancelled' ? 'was cancelled' : 'is blocked';
  return { code: 'DEP_DEAD', message: `dependency "${depId}" ${fate}`, details: { dep: depId, depStatus } };
}

/**
 * Ends `rows.task` (dead, blocked, cancelled) with `error` at `now`. An open attempt is closed
 * with the error and its lease revoked, so a late result from that worker is fenced off.
 */
export function endTask(draft: Draft, rows: TaskRows, status: TaskStatus, error: TaskError, now: number): void {
  const at = isoTime(now);
  if (IN_FLIGHT_STATUSES.has(rows.task.status)) {
    draft.putAttempt({ ...openAttempt(rows), code: error.code, message: error.message, finishedAt: at });
  }
  draft.update(rows.task, { status, error, finishedAt: at, lease: null, leaseExpiresAt: null });
}

/**
 * Blocks every task not yet terminal that depends on `rootId` (which just ended as
 * `rootStatus`), transitively, breadth first, with `DEP_DEAD` naming the root. A task reached
 * twice is blocked once. Returns the ids blocked, in that order (log them with {@link logBlocked}).
 */
export function blockDependents(draft: Draft, rootId: string, rootStatus: TaskStatus, now: number): string[] {
  const blocked = blockOrder(draft.dependents(rootId), draft);
  // One error object for the whole walk: rows are values, never changed in place.
  const error = depDeadError(rootId, rootStatus);
  // Dependents of a task that never completed are pending: none is in flight, so no attempt to close.
  for (const id of blocked) endTask(draft, { task: draft.row(id), attempts: [] }, 'blocked', error, now);
  return blocked;
}

/** Logs one `task.blocked` line for each of `ids`, with the error its row now has. */
export function logBlocked(draft: Draft, ids: readonly string[], now: number): void {
  for (const id of ids) {
    const { error } = draft.row(id);
    if (error !== null) draft.event(storeEvents.blocked(id, error, now));
  }
}

/** True when `block` applies: the task is ready or assigned (not yet running). */
export function isBlockable(row: Pick<TaskRow, 'status'>): boolean {
  return row.status === 'ready' || row.status === 'assigned';
}

/** True when `cancel` applies: the task is not terminal. */
export function isCancellable(row: Pick<TaskRow, 'status'>): boolean {
  return !TERMINAL_STATUSES.has(row.status);
}

/**
 * ready/assigned → blocked with `error`, its dependents blocked with `DEP_DEAD`. An assigned
 * task never ran (e.g. its dependencies conflict): its claim is taken back like a release —
 * in the history, no attempt counted, no log to point at — and its lease revoked. Answers the
 * ids blocked, this task first; nothing, changing nothing, in any other status. `graph`:
 * what blocking from this task walks.
 */
export function planBlock(rows: TaskRows, graph: Subgraph, error: TaskError, now: number): Plan<string[]> {
  const { task } = rows;
  if (!isBlockable(task)) return noChange([]);
  const draft = new Draft(graph);
  const unclaimed = task.status === 'assigned'
    ? draft.update(takeBack(draft, rows, { now, reason: `blocked before it started: ${error.code}`, crash: false }), { status: 'ready' })
    : task;
  endTask(draft, { task: unclaimed, attempts: [] }, 'blocked', error, now);
  const blocked = blockDependents(draft, task.id, 'blocked', now);
  logBlocked(draft, [task.id, ...blocked], now);
  return draft.plan([task.id, ...blocked]);
}

/**
 * Any status not terminal → cancelled (`TASK_CANCELLED`), dependents blocked (`DEP_DEAD`). An
 * in-flight task's lease is revoked; stopping its process is the supervisor's job. Answers the
 * ids changed, this task first; nothing when it was already terminal.
 */
export function planCancel(rows: TaskRows, graph: Subgraph, now: number): Plan<string[]> {
  const { task } = rows;
  if (!isCancellable(task)) return noChange([]);
  const draft = new Draft(graph);
  endTask(draft, rows, 'cancelled', { code: 'TASK_CANCELLED', message: `task "${task.id}" was cancelled` }, now);
  draft.event(storeEvents.cancelled(task.id, now));
  const blocked = blockDependents(draft, task.id, 'cancelled', now);
  logBlocked(draft, blocked, now);
  return draft.plan([task.id, ...blocked]);
}

