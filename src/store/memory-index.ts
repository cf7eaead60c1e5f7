/**
 * The memory store's indexes over its task rows, what the SQL stores' indexes are to their
 * tables: the ready tasks by capability set (dispatch order), the retries waiting out a
 * backoff (due order), the ready tasks not yet due (deferred by a rate limit: due order), the
 * in-flight tasks, and a count per status. One method, {@link StatusIndex.move}, keeps them
 * in step with every row written; the reads that hand tasks out take the time, and first let
 * in the waiting tasks due by then ({@link StatusIndex.wake}).
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
  /**
   * Ready tasks with a `readyAt`, earliest first, until a read at or after it moves them into
   * `ready`. A row write does not know the time, so every ready row with a `readyAt` waits here
   * first: a deferred one until its limit resets, a retry promoted when due only until the
   * next read (the one of the very claim that promoted it).
   */
  private readonly waiting = new ReadyHeap(byDueTime);
  /** The needs of each waiting task, to file it in `ready` when it is let in. */
  private readonly waitingNeeds = new Map<string, readonly string[]>();
  private readonly inFlightIds = new Set<string>();
  private readonly statusCounts = Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as Record<TaskStatus, number>;

  /** Follows a row from `before` (undefined for a new task) to `after`. */
  move(before: TaskRow | undefined, after: TaskRow): void {
    const { id } = after;
    const previous = before?.status;
    if (previous !== after.status) {
      if (previous !== undefined) this.statusCounts[previous] -= 1;
      this.statusCounts[after.status] += 1;
      if (previous === 'failed') this.delayed.remove(id);
      if (IN_FLIGHT_STATUSES.has(after.status)) this.inFlightIds.add(id);
      else this.inFlightIds.delete(id);
    }
    // A ready task is filed again when it stops being ready or its due time changes.
    if (previous === 'ready' && (after.status !== 'ready' || before?.readyAt !== after.readyAt)) this.unfileReady(id, after.spec.needs);
    if (after.status === 'ready' && (previous !== 'ready' || before?.readyAt !== after.readyAt)) this.fileReady(after);
    // A new retry time re-positions a waiting retry (a push replaces its live entry).
    if (after.status === 'failed' && (previous !== 'failed' || before?.readyAt !== after.readyAt)) this.delayed.push(heapEntry(after));
  }

  /**
   * Lets every waiting ready task due by `now` into the ready set. O(log n) each. A task let in
   * stays in: callers' time moves forward (and the claim plan checks `readyAt` again anyway).
   */
  wake(now: number): void {
    for (let top = this.waiting.peek(); top !== undefined && top.readyAt <= now; top = this.waiting.peek()) {
      this.waiting.pop();
      this.ready.add(top, this.waitingNeeds.get(top.id) ?? []);
      this.waitingNeeds.delete(top.id);
    }
  }

  /** The best ready task due by `now` whose needs pass `canServe`. */
  bestReady(canServe: NeedsFilter, now: number): string | undefined {
    this.wake(now);
    return this.ready.peek(canServe)?.id;
  }

  /** The ready tasks due by `now`, best first, read lazily. */
  *readyIds(now: number): Generator<string, void, undefined> {
    this.wake(now);
    for (const entry of this.ready.ordered()) yield entry.id;
  }

  /** The earliest due time after `now` among ready tasks not yet due (deferred), or null. */
  nextWaiting(now: number): number | null {
    this.wake(now);
    return this.waiting.peek()?.readyAt ?? null;
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

  /** Files a ready row: in the ready set when it has no due time, else waiting until it is due. */
  private fileReady(row: TaskRow): void {
    if (row.readyAt <= 0) {
      this.ready.add(heapEntry(row), row.spec.needs);
      return;
    }
    this.waiting.push(heapEntry(row));
    this.waitingNeeds.set(row.id, row.spec.needs);
  }

  private unfileReady(id: string, needs: readonly string[]): void {
    this.ready.remove(id, needs);
    this.waiting.remove(id);
    this.waitingNeeds.delete(id);
  }
}
