/**
 * The memory store's tables: the same rows the SQL stores keep (tasks, attempts, releases,
 * dependency edges, events) in maps, with the indexes a claim and a reap need
 * (memory-index.ts). It answers an operation's reads ({@link RowReads}) and applies its
 * changes; the lifecycle rules are the plans', as for every store.
 */
import { canServeWith } from '../lifecycle/capabilities.js';
import type { NewEvent } from '../lifecycle/events.js';
import { isLeaseCurrent, isLeaseExpired } from '../lifecycle/leases.js';
import { toTaskRecord } from '../lifecycle/record-of-rows.js';
import type { AttemptRow, ReleaseRow, Subgraph, TaskRow, TaskRows } from '../lifecycle/rows.js';
import type { TaskRecord, TaskStatus } from '../lifecycle/task-record.js';
import { CoordError } from '../errors.js';
import { StatusIndex } from './memory-index.js';
import type { Changes } from './operation.js';
import type { RowReads } from './row-reads.js';
import type { StoredEvent } from './task-store.js';

const NONE: readonly never[] = [];

/** Rows and indexes held in this process's memory. */
export class MemoryTables implements RowReads {
  /** Every task row, in submission order (a Map iterates in insertion order). */
  private readonly tasks = new Map<string, TaskRow>();
  /** Each task's dependents, in submission order (a dependent is always submitted later). */
  private readonly dependentIds = new Map<string, string[]>();
  /** Each task's attempt rows, by number. */
  private readonly attempts = new Map<string, AttemptRow[]>();
  private readonly releases = new Map<string, ReleaseRow[]>();
  private readonly log: StoredEvent[] = [];
  private readonly index = new StatusIndex();
  private seq = 0;

  // ── reads an operation makes ──────────────────────────────────────────────────

  named(ids: readonly string[]): TaskRow[] {
    return ids.flatMap((id) => this.tasks.get(id) ?? []);
  }

  lastSeq(): number {
    return this.seq;
  }

  task(id: string): TaskRows | undefined {
    const task = this.tasks.get(id);
    return task === undefined ? undefined : this.withAttempts(task);
  }

  leased(id: string, lease: string): TaskRows | undefined {
    const task = this.tasks.get(id);
    return task !== undefined && isLeaseCurrent(task, lease) ? this.withAttempts(task) : undefined;
  }

  holding(leases: readonly string[]): TaskRow[] {
    const wanted = new Set(leases);
    return this.inFlightRows().filter((row) => row.lease !== null && wanted.has(row.lease));
  }

  heldBy(nodeId: string): TaskRows[] {
    return this.inFlightRows()
      .filter((row) => row.node === nodeId)
      .map((row) => this.withAttempts(row));
  }

  expired(now: number): TaskRows[] {
    return this.inFlightRows()
      .filter((row) => isLeaseExpired(row, now))
      .sort((a, b) => (a.leaseExpiresAt ?? 0) - (b.leaseExpiresAt ?? 0) || a.seq - b.seq)
      .map((row) => this.withAttempts(row));
  }

  due(now: number): TaskRow[] {
    return this.index.due(now).map((id) => this.rowOf(id));
  }

  pick(capabilities: readonly string[], taskId: string | undefined, now: number): TaskRow | undefined {
    // An exact claim gets the row whatever its status: the claim plan checks it is ready, due and servable.
    const id = taskId ?? this.index.bestReady(canServeWith(capabilities), now);
    return id === undefined ? undefined : this.tasks.get(id);
  }

  dependents(id: string): TaskRow[] {
    return (this.dependentIds.get(id) ?? NONE).map((dependent) => this.rowOf(dependent));
  }

  blockReach(): Subgraph {
    return this.graph();
  }

  unblockReach(): Subgraph {
    return this.graph();
  }

  record(id: string): TaskRecord | undefined {
    const row = this.tasks.get(id);
    return row === undefined ? undefined : this.recordOf(row);
  }

  ready(now: number, limit: number): TaskRecord[] {
    const ready: TaskRecord[] = [];
    for (const id of this.index.readyIds(now)) {
      if (ready.length >= limit) break;
      ready.push(this.recordOf(this.rowOf(id)));
    }
    return ready;
  }

  // ── writes ────────────────────────────────────────────────────────────────────

  /** Applies a plan's writes and logs its events. */
  apply({ writes, events }: Changes): void {
    for (const { row, deps } of writes.added) {
      this.tasks.set(row.id, row);
      this.seq = Math.max(this.seq, row.seq);
      for (const dep of deps) {
        const list = this.dependentIds.get(dep);
        if (list === undefined) this.dependentIds.set(dep, [row.id]);
        else list.push(row.id);
      }
      this.index.move(undefined, row);
    }
    for (const row of writes.tasks) {
      const before = this.rowOf(row.id);
      this.tasks.set(row.id, row);
      this.index.move(before, row);
    }
    for (const { taskId, attempt } of writes.droppedAttempts) {
      this.attempts.set(taskId, (this.attempts.get(taskId) ?? NONE).filter((row) => row.attempt !== attempt));
    }
    for (const row of writes.attempts) {
      const kept = (this.attempts.get(row.taskId) ?? NONE).filter((other) => other.attempt !== row.attempt);
      this.attempts.set(row.taskId, [...kept, row].sort((a, b) => a.attempt - b.attempt));
    }
    for (const row of writes.releases) this.releases.set(row.taskId, [...(this.releases.get(row.taskId) ?? NONE), row]);
    for (const event of events) this.append(event);
  }

  /** Logs `event` as the next line. */
  append(event: NewEvent): void {
    this.log.push({ ...structuredClone(event), id: this.log.length + 1 });
  }

  // ── reads the store answers its callers with ─────────────────────────────────

  /** Every record, in submission order. */
  records(): TaskRecord[] {
    return [...this.tasks.values()].map((row) => this.recordOf(row));
  }

  counts(): Record<TaskStatus, number> {
    return this.index.counts();
  }

  isSettled(): boolean {
    return this.index.isSettled();
  }

  /** In-flight rows in submission order (as the SQL stores list them). */
  inFlightRows(): TaskRow[] {
    return this.index
      .inFlight()
      .map((id) => this.rowOf(id))
      .sort((a, b) => a.seq - b.seq);
  }

  /** The earliest retry time, rate-limit wait after `now` or lease expiry, or null. */
  nextDue(now: number): number | null {
    let due: number | null = null;
    for (const time of [this.index.nextRetry(), this.index.nextWaiting(now)]) {
      if (time !== null && (due === null || time < due)) due = time;
    }
    for (const row of this.inFlightRows()) {
      if (row.leaseExpiresAt !== null && (due === null || row.leaseExpiresAt < due)) due = row.leaseExpiresAt;
    }
    return due;
  }

  /** At most `limit` event lines after `afterId` (ids are 1..n in order, so they start at index `afterId`). */
  events(afterId: number, limit: number): StoredEvent[] {
    const from = Math.max(0, afterId);
    return this.log.slice(from, from + Math.max(0, limit)).map((event) => structuredClone(event));
  }

  /** The last `limit` event lines, oldest first. */
  latestEvents(limit: number): StoredEvent[] {
    return this.log.slice(Math.max(0, this.log.length - Math.max(0, limit))).map((event) => structuredClone(event));
  }

  // ── helpers ───────────────────────────────────────────────────────────────────

  /** The whole graph: a walk reads only what it reaches, so the live maps serve as its subgraph. */
  private graph(): Subgraph {
    return { tasks: this.tasks, dependents: this.dependentIds };
  }

  private withAttempts(task: TaskRow): TaskRows {
    return { task, attempts: this.attempts.get(task.id) ?? NONE };
  }

  /** A snapshot: rows are values, but a record shares the spec, result and error objects with them. */
  private recordOf(row: TaskRow): TaskRecord {
    const record = toTaskRecord(row, this.dependentIds.get(row.id) ?? NONE, this.attempts.get(row.id) ?? NONE, this.releases.get(row.id) ?? NONE);
    return structuredClone(record);
  }

  /** For ids the tables themselves hold (edges, index entries): absence would be a bug. */
  private rowOf(id: string): TaskRow {
    const row = this.tasks.get(id);
    if (row === undefined) throw new CoordError('INTERNAL', `the memory store lost track of task "${id}"`);
    return row;
  }
}
