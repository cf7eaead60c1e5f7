/**
 * The task records and every index over them — status counts, the ready set, the delayed
 * (retry backoff) heap, the in-flight set, the changed set — kept in step by one method,
 * {@link TaskTable.setStatus}. The lifecycle rules live in `TaskQueue` and the modules it
 * calls; this file only makes sure that whatever the rules do, the indexes agree with the records.
 */
import { CoordError } from '../errors.js';
import type { TaskSpec } from '../tasks/spec.js';
import { ReadyHeap, byDueTime, type HeapEntry } from './ready-heap.js';
import { ReadySet, type NeedsFilter } from './ready-set.js';
import {
  IN_FLIGHT_STATUSES,
  TASK_STATUSES,
  createTaskRecord,
  isLeaseCurrent,
  type MutableTaskRecord,
  type TaskRecord,
  type TaskStatus,
} from './task-record.js';

/** Records by id (submission order) plus the indexes the queue needs in O(1) / O(log n). */
export class TaskTable {
  /** Every record, in submission order (Map iteration order is insertion order). */
  readonly records = new Map<string, MutableTaskRecord>();
  private readonly ready = new ReadySet();
  /** Retries waiting out their backoff (status `failed`), earliest first. */
  private readonly delayed = new ReadyHeap(byDueTime);
  private readonly inFlightIds = new Set<string>();
  private readonly changed = new Set<string>();
  private readonly statusCounts = Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as Record<TaskStatus, number>;
  private nextSeq = 1;

  /** Adds a `pending` record for `spec` (the caller has validated the submission). */
  insert(spec: TaskSpec): MutableTaskRecord {
    const record = createTaskRecord(spec, this.nextSeq++);
    this.records.set(spec.id, record);
    this.statusCounts.pending += 1;
    this.changed.add(spec.id);
    return record;
  }

  /** The one place a status changes: counts, heaps and the in-flight set follow. */
  setStatus(record: MutableTaskRecord, next: TaskStatus): void {
    const id = record.spec.id;
    const previous = record.status;
    if (previous === next) return;
    if (previous === 'ready') this.ready.remove(id, record.spec.needs);
    else if (previous === 'failed') this.delayed.remove(id);
    this.statusCounts[previous] -= 1;
    this.statusCounts[next] += 1;
    record.status = next;
    if (IN_FLIGHT_STATUSES.has(next)) this.inFlightIds.add(id);
    else this.inFlightIds.delete(id);
    if (next === 'ready') this.ready.add(heapEntry(record), record.spec.needs);
    else if (next === 'failed') this.delayed.push(heapEntry(record));
    this.changed.add(id);
  }

  /** Notes a change that did not move the status (for {@link takeChanged}). */
  touch(id: string): void {
    this.changed.add(id);
  }

  /** Moves due retries from `failed` to `ready`; returns their ids. */
  promoteDue(now: number): string[] {
    const promoted: string[] = [];
    for (let top = this.delayed.peek(); top !== undefined && top.readyAt <= now; top = this.delayed.peek()) {
      this.setStatus(this.recordOf(top.id), 'ready');
      promoted.push(top.id);
    }
    return promoted;
  }

  /** The best ready record whose needs pass `canServe`. */
  peekReady(canServe?: NeedsFilter): MutableTaskRecord | undefined {
    const entry = this.ready.peek(canServe);
    return entry === undefined ? undefined : this.recordOf(entry.id);
  }

  /**
   * Ready records whose needs pass `canServe`, best first, read lazily (see `ReadySet.ordered`).
   * Records that stopped being ready since the walk read them are skipped.
   */
  *readyRecords(canServe?: NeedsFilter): Generator<MutableTaskRecord, void, undefined> {
    for (const entry of this.ready.ordered(canServe)) {
      const record = this.recordOf(entry.id);
      if (record.status === 'ready') yield record;
    }
  }

  /** Milliseconds until the next retry is due (0 if one is), or null when none waits. */
  nextDelayMs(now: number): number | null {
    const top = this.delayed.peek();
    return top === undefined ? null : Math.max(0, top.readyAt - now);
  }

  /** The record for `id`, or `TASK_NOT_FOUND`. */
  require(id: string): MutableTaskRecord {
    const record = this.records.get(id);
    if (record === undefined) throw new CoordError('TASK_NOT_FOUND', `no task "${id}"`, { details: { taskId: id } });
    return record;
  }

  /** For ids the table itself holds (graph edges, heap entries): absence would be a bug. */
  recordOf(id: string): MutableTaskRecord {
    const record = this.records.get(id);
    if (record === undefined) throw new CoordError('INTERNAL', `task table lost track of task "${id}"`);
    return record;
  }

  /** The record if `lease` is its current lease; an unknown id counts as stale (a late message). */
  fenced(id: string, lease: string): MutableTaskRecord | undefined {
    const record = this.records.get(id);
    return record !== undefined && isLeaseCurrent(record, lease) ? record : undefined;
  }

  /** A copy of the per-status counts. O(1). */
  counts(): Record<TaskStatus, number> {
    return { ...this.statusCounts };
  }

  /** True when no task is pending, ready, in flight or waiting for a retry. */
  isSettled(): boolean {
    const c = this.statusCounts;
    return c.pending + c.ready + c.assigned + c.running + c.failed === 0;
  }

  /** Ids of assigned and running tasks. */
  inFlight(): string[] {
    return [...this.inFlightIds];
  }

  /** Ids changed since the last call, in order of first change; clears the set. */
  takeChanged(): string[] {
    const ids = [...this.changed];
    this.changed.clear();
    return ids;
  }
}

function heapEntry(record: TaskRecord): HeapEntry {
  return { id: record.spec.id, priority: record.spec.priority, seq: record.seq, readyAt: record.readyAt };
}
