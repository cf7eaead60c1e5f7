/**
 * Which queued entries the merge queue may take next, and in what order: pending entries
 * whose dependencies have all merged (a dependency the queue does not know counts as
 * merged), in the order they were enqueued, up to the batch size. A dependency that is still
 * pending, or ended in a conflict or a failed test, holds its dependents back until it is
 * enqueued again and merges.
 */
import type { MergeStatus } from './types.js';

/** What readiness looks at in a queued entry. */
export interface QueuedView {
  taskId: string;
  deps: readonly string[];
  status: MergeStatus;
  /** Enqueue order (a re-enqueued entry gets a new, later one). */
  seq: number;
}

/** True when `entry` is pending and nothing it depends on is in the queue unmerged. */
export function isReady(entry: QueuedView, statusOf: (taskId: string) => MergeStatus | undefined): boolean {
  if (entry.status !== 'pending') return false;
  return entry.deps.every((dep) => {
    const status = statusOf(dep);
    return status === undefined || status === 'merged';
  });
}

/** The next batch: up to `limit` (at least 1) ready entries, oldest enqueued first. */
export function readyBatch<T extends QueuedView>(entries: readonly T[], limit: number): T[] {
  const byId = new Map(entries.map((entry) => [entry.taskId, entry]));
  const statusOf = (taskId: string): MergeStatus | undefined => byId.get(taskId)?.status;
  return entries
    .filter((entry) => isReady(entry, statusOf))
    .sort((a, b) => a.seq - b.seq)
    .slice(0, Math.max(1, Math.floor(limit)));
}
