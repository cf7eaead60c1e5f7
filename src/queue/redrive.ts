/**
 * Redriving a dead task: it goes back to `ready` with a fresh attempt budget, and the tasks
 * its death blocked come back to `pending`/`ready`. The history stays: earlier attempts remain
 * in `attempts` (attempt numbers keep counting up) and `attemptBase` marks where the new
 * budget starts; released starts stay in `released`, and the crash-release count starts over.
 */
import { unblockOrder, type UnblockView } from './graph-walk.js';
import type { TaskTable } from './task-table.js';
import type { MutableTaskRecord } from './task-record.js';

/** Revives `record` (dead) and the tasks it blocked; returns their ids, this task first. */
export function redriveTask(table: TaskTable, record: MutableTaskRecord): string[] {
  record.attemptBase = record.attempts.length;
  // A fresh release budget too: the released starts stay in the history.
  record.crashReleases = 0;
  record.error = null;
  record.exitCode = null;
  record.finishedAt = null;
  record.readyAt = 0;
  // A task that ran had every dependency complete, so it is ready at once.
  table.setStatus(record, 'ready');
  const revived = unblockOrder(record.dependents, tableView(table));
  for (const id of revived) {
    const dependent = table.recordOf(id);
    dependent.error = null;
    dependent.finishedAt = null;
    table.setStatus(dependent, dependent.unmetDeps === 0 ? 'ready' : 'pending');
  }
  return [record.spec.id, ...revived];
}

function tableView(table: TaskTable): UnblockView {
  return {
    status: (id) => table.recordOf(id).status,
    dependents: (id) => table.recordOf(id).dependents,
    errorCode: (id) => table.recordOf(id).error?.code ?? null,
    deps: (id) => [...new Set(table.recordOf(id).spec.deps)],
  };
}
