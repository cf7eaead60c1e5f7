/**
 * The memory store's indexes over its task rows, what the SQL stores' indexes are to their
 * tables: the ready tasks by capability set (dispatch order), the retries waiting out a
 * backoff (due order), the in-flight tasks, and a count per status. One method,
 * {@link StatusIndex.move}, keeps them in step with every row written.
 */
import type { NeedsFilter } from '../lifecycle/capabilities.js';
import type { TaskRow } from '../lifecycle/rows.js';
import { IN_FLIGHT_STATUSES, TASK_STATUSES, type TaskStatus } from '../lifecycle/task-record.js';
import { ReadyHeap, byDueTime, type HeapEntry } from './memory-ready-heap.js';
import { ReadySet } from './memory-ready-set.js';

function heapEntry(row: TaskRow): HeapEntry {
  return { id: row.id, priority: row.spec.priority, seq: row.seq, readyAt: row.readyAt };
}

/** Indexes by status. Every operation is O(log n) for the row it moves. */
export class StatusIndex {
  private readonly ready = new ReadySet();
  /** Retries waiting out their backoff (status `failed`), earliest first. */
  private readonly delayed = new ReadyHeap(byDueTime);
  private readonly inFlightIds = new Set<string>();
  private readonly statusCounts = Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as Record<TaskStatus, number>;

  /** Follows a row from `before` (undefined for a new task) to `after`. */
  move(before: TaskRow | undefined, after: TaskRow): void {
    const { id } = after;
    const previous = before?.status;
    if (previous !== after.status) {
      if (previous !== undefined) this.statusCounts[previous] -= 1;
      this.statusCounts[after.status] += 1;
      if (previous === 'ready') this.ready.remove(id, after.spec.needs);
      else if (previous === 'failed') this.delayed.remove(id);
      if (IN_FLIGHT_STATUSES.has(after.status)) this.inFlightIds.add(id);
      else this.inFlightIds.delete(id);
      if (after.status === 'ready') this.ready.add(heapEntry(after), after.spec.needs);
    }
    // A new retry time re-positions a waiting retry (a push replaces its live entry).
    if (after.status === 'failed' && (previous !== 'failed' || before?.readyAt !== after.readyAt)) this.delayed.push(heapEntry(after));
  }

  /** The best ready task whose needs pass `canServe`. */
  bestReady(canServe: NeedsFilter): string | undefined {
    return this.ready.peek(canServe)?.id;
  }

  /** The ready tasks, best first, read lazily. */
  *readyIds(): Generator<string, void, undefined> {
    for (const entry of this.ready.ordered()) yield entry.id;
  }

  /** The retries due by `now`, earliest first. */
  due(now: number): string[] {
    const due: string[] = [];
    for (const entry of this.delayed.ordered()) {
      if (entry.readyAt > now) break;
      due.push(entry.id);
    }
    return due;
  }

  /** The earliest retry time among waiting retries, or null. */
  nextRetry(): number | null {
    return this.delayed.peek()?.readyAt ?? null;
  }

  /** Ids of the assigned and running tasks. */
  inFlight(): readonly string[] {
    return [...this.inFlightIds];
  }

  /** A copy of the per-status counts. */
  counts(): Record<TaskStatus, number> {
    return { ...this.statusCounts };
  }

  /** True when no task is pending, ready, in flight or waiting for a retry. */
  isSettled(): boolean {
    const c = this.statusCounts;
    return c.pending + c.ready + c.assigned + c.running + c.failed === 0;
  }
}
