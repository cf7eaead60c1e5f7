/**
 * The read side of `TaskQueue`: lookups, counts, and the deadlines the dispatcher's
 * timers wait for. Nothing here changes a task (`takeChanged` drains the change log, not the
 * records), so code that only reports on a queue can take a `TaskQueueView`. The lifecycle
 * rules live in `task-queue.ts`, which extends this class.
 */
import { nextLeaseExpiry } from './in-flight.js';
import { TaskTable } from './task-table.js';
import type { TaskRecord, TaskStatus } from './task-record.js';

/** Queries over a queue's records; see `TaskQueue` for the queue itself. */
export abstract class TaskQueueView {
  protected readonly table = new TaskTable();

  /** The record for `id`, if any: a live view, read it now rather than keep it. */
  get(id: string): TaskRecord | undefined {
    return this.table.records.get(id);
  }

  /** True when a task `id` exists (so the queue can serve as `validateGraph`'s `existing`). */
  has(id: string): boolean {
    return this.table.records.has(id);
  }

  /** Every record, in submission order. O(n). */
  all(): TaskRecord[] {
    return [...this.table.records.values()];
  }

  /** Number of tasks. */
  get size(): number {
    return this.table.records.size;
  }

  /** Tasks per status, maintained on every transition. O(1). */
  counts(): Readonly<Record<TaskStatus, number>> {
    return this.table.counts();
  }

  /** True when no task is pending, ready, in flight or waiting for a retry. */
  isSettled(): boolean {
    return this.table.isSettled();
  }

  /** Ids of assigned and running tasks. O(in flight). */
  inFlight(): string[] {
    return this.table.inFlight();
  }

  /** Milliseconds until the next retry is due (0 if one is), or null when none waits: the dispatcher's timer. */
  nextDelayMs(now: number): number | null {
    return this.table.nextDelayMs(now);
  }

  /** The earliest expiry (epoch ms) among in-flight leases, or null. O(in flight). */
  nextLeaseExpiry(): number | null {
    return nextLeaseExpiry(this.table);
  }

  /** Ids of records changed since the last call, in order of first change (for incremental persistence). */
  takeChanged(): string[] {
    return this.table.takeChanged();
  }
}
