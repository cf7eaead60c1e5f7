/**
 * The two walks along dependent edges that a task's fate starts, as pure functions over a
 * {@link GraphView} (a plan's draft: see block.ts and redrive.ts). Each walk visits a task and
 * follows an edge at most once per change it makes: the cost is the affected subgraph, which
 * the stores read before planning.
 */
import type { CoordErrorCode } from '../errors.js';
import { TERMINAL_STATUSES, type TaskStatus } from './task-record.js';

/** What the walks read about the graph. */
export interface GraphView {
  status(id: string): TaskStatus;
  /** Ids of the tasks that depend on `id`, in submission order. */
  dependents(id: string): readonly string[];
}

/** What {@link unblockOrder} also reads. */
export interface UnblockView extends GraphView {
  /** The code of the task's `error`, or null. */
  errorCode(id: string): CoordErrorCode | null;
  /** The task's distinct dependencies. */
  deps(id: string): readonly string[];
}

/** Statuses from which a task can never complete: its dependents must be blocked. */
export const DEAD_END_STATUSES: ReadonlySet<TaskStatus> = new Set<TaskStatus>(['dead', 'blocked', 'cancelled']);

/**
 * The tasks to block, breadth first from `startIds`: every task reachable along dependent
 * edges that is not terminal yet, each once.
 */
export function blockOrder(startIds: readonly string[], view: GraphView): string[] {
  const blocked = new Set<string>();
  const queue = [...startIds];
  for (let head = 0; head < queue.length; head++) {
    const id = queue[head] as string;
    if (blocked.has(id) || TERMINAL_STATUSES.has(view.status(id))) continue;
    blocked.add(id);
    for (const next of view.dependents(id)) queue.push(next);
  }
  return [...blocked];
}

/**
 * After a dead task was redriven: the tasks blocked with `DEP_DEAD` that can run again,
 * breadth first from `startIds` (the redriven task's dependents). A task comes back only when
 * none of its dependencies is still dead, blocked or cancelled; when a later step of the walk
 * revives such a dependency, the task is visited again through that dependency's edge. Tasks
 * blocked for another reason (`DEP_CONFLICT`) and cancelled tasks stay as they are.
 */
export function unblockOrder(startIds: readonly string[], view: UnblockView): string[] {
  const revived = new Set<string>();
  const statusOf = (id: string): TaskStatus => (revived.has(id) ? 'pending' : view.status(id));
  const queue = [...startIds];
  for (let head = 0; head < queue.length; head++) {
    const id = queue[head] as string;
    if (revived.has(id) || view.status(id) !== 'blocked' || view.errorCode(id) !== 'DEP_DEAD') continue;
    if (view.deps(id).some((dep) => DEAD_END_STATUSES.has(statusOf(dep)))) continue;
    revived.add(id);
    for (const next of view.dependents(id)) queue.push(next);
  }
  return [...revived];
}
