/**
 * What a task's fate does to the tasks that depend on it: completion unlocks them, a task
 * that can never complete (dead, blocked, cancelled) blocks them, transitively. Each walk
 * touches a task and an edge at most once, so the cost is the size of the affected subgraph,
 * never the whole graph.
 */
import type { TaskTable } from './task-table.js';
import {
  IN_FLIGHT_STATUSES,
  TERMINAL_STATUSES,
  currentAttempt,
  isoTime,
  type MutableTaskRecord,
  type TaskError,
  type TaskRecord,
  type TaskStatus,
} from './task-record.js';

/**
 * Links a new `record` to its distinct dependencies (so `deps: [a, a]` counts once) and counts
 * the unmet ones; a dependency already complete counts as met. Returns a dependency that can
 * never complete, if there is one, so the caller can block the new task.
 */
export function wireDependencies(table: TaskTable, record: MutableTaskRecord): MutableTaskRecord | undefined {
  let deadEnd: MutableTaskRecord | undefined;
  const { deps } = record.spec;
  for (const depId of deps.length < 2 ? deps : new Set(deps)) {
    const dep = table.recordOf(depId);
    dep.dependents.push(record.spec.id);
    table.touch(depId);
    if (dep.status === 'complete') continue;
    record.unmetDeps += 1;
    if (deadEnd === undefined && TERMINAL_STATUSES.has(dep.status)) deadEnd = dep;
  }
  return deadEnd;
}

/** After `record` completed: each dependent has one unmet dependency fewer, and is ready at 0. */
export function unlockDependents(table: TaskTable, record: TaskRecord): void {
  for (const dependentId of record.dependents) {
    const dependent = table.recordOf(dependentId);
    dependent.unmetDeps = Math.max(0, dependent.unmetDeps - 1);
    table.touch(dependentId);
    if (dependent.status === 'pending' && dependent.unmetDeps === 0) table.setStatus(dependent, 'ready');
  }
}

/**
 * Blocks every non-terminal task reachable along dependent edges from `startIds`, with
 * `DEP_DEAD` naming `root` (the task that can never complete) and how it ended. Breadth
 * first and iterative: a blocked task is terminal, so none is processed twice. Returns the
 * ids blocked, in BFS order.
 */
export function blockDependents(
  table: TaskTable,
  startIds: readonly string[],
  root: TaskRecord,
  now: number | undefined,
): string[] {
  // One error object shared by every task blocked in this walk: records are read-only views.
  const error = depDeadError(root.spec.id, root.status);
  const blocked: string[] = [];
  const queue = [...startIds];
  for (let head = 0; head < queue.length; head++) {
    const record = table.recordOf(queue[head] as string);
    if (TERMINAL_STATUSES.has(record.status)) continue;
    endTask(table, record, 'blocked', error, now);
    blocked.push(record.spec.id);
    for (const next of record.dependents) queue.push(next);
  }
  return blocked;
}

/** The error of a task blocked because dependency `depId` ended in `depStatus` (dead, blocked or cancelled). */
export function depDeadError(depId: string, depStatus: TaskStatus): TaskError {
  const fate = depStatus === 'dead' ? 'is dead' : depStatus === 'cancelled' ? 'was cancelled' : 'is blocked';
  return { code: 'DEP_DEAD', message: `dependency "${depId}" ${fate}`, details: { dep: depId, depStatus } };
}

/**
 * Ends a task without success (dead, blocked, cancelled). An open attempt is closed with the
 * error and its lease revoked, so a late result from that worker is fenced off.
 */
export function endTask(
  table: TaskTable,
  record: MutableTaskRecord,
  status: TaskStatus,
  error: TaskError,
  now: number | undefined,
): void {
  if (IN_FLIGHT_STATUSES.has(record.status)) {
    const attempt = currentAttempt(record);
    attempt.code = error.code;
    attempt.message = error.message;
    if (now !== undefined) attempt.finishedAt = isoTime(now);
    record.lease = null;
    record.leaseExpiresAt = null;
  }
  record.error = error;
  if (now !== undefined) record.finishedAt = isoTime(now);
  table.setStatus(record, status);
}
