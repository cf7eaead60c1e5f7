/**
 * Redriving a dead task: it goes back to `ready` with a fresh attempt budget, and the tasks
 * its death blocked come back to `pending`/`ready`. The history stays: earlier attempts remain
 * (attempt numbers keep counting up) and `attemptBase` marks where the new budget starts;
 * released starts stay, and the crash-release and rate-limit-wait counts start over.
 */
import { Draft, noChange, type Plan } from './draft.js';
import { storeEvents } from './events.js';
import { unblockOrder } from './graph-walk.js';
import type { Subgraph, TaskRow } from './rows.js';

/** True when `redrive` applies: the task is dead. */
export function isRedrivable(row: Pick<TaskRow, 'status'>): boolean {
  return row.status === 'dead';
}

/**
 * dead → ready (`task`), and every task blocked (`DEP_DEAD`) through it whose dependencies can
 * all complete again back to pending/ready. `graph`: every task downstream of it, with the
 * rows of their dependencies. Answers the ids changed, this task first; nothing, changing
 * nothing, when the task is not dead.
 */
export function planRedrive(task: TaskRow, graph: Subgraph, now: number): Plan<string[]> {
  if (!isRedrivable(task)) return noChange([]);
  const draft = new Draft(graph);
  // A task that ran had every dependency complete, so it is ready at once.
  const redriven = draft.update(task, {
    status: 'ready', attemptBase: task.attemptCount, crashReleases: 0, rateLimitWaits: 0, error: null, exitCode: null, finishedAt: null, readyAt: 0,
  });
  draft.event(storeEvents.redriven(task.id, redriven.attemptBase, now));
  const revived = unblockOrder(draft.dependents(task.id), {
    status: (id) => draft.status(id),
    dependents: (id) => draft.dependents(id),
    errorCode: (id) => draft.find(id)?.error?.code ?? null,
    deps: (id) => [...new Set(draft.row(id).spec.deps)],
  });
  for (const id of revived) {
    const row = draft.row(id);
    draft.update(row, { status: row.unmetDeps === 0 ? 'ready' : 'pending', error: null, finishedAt: null });
    draft.event(storeEvents.unblocked(id, now));
  }
  return draft.plan([task.id, ...revived]);
}
