/**
 * The SQLite store's tables as an operation sees them: the reads it makes
 * ({@link RowReads}, answered with prepared statements of one connection) and the writes its
 * plans produce. Call inside a transaction: the store begins every operation IMMEDIATE, so
 * what is read stays true until the writes are in.
 */
import { normalizeNeeds } from '../lifecycle/capabilities.js';
import type { Subgraph, TaskRow, TaskRows } from '../lifecycle/rows.js';
import type { TaskRecord } from '../lifecycle/task-record.js';
import type { Changes } from './operation.js';
import { decodeAttempt, dependentsByTask } from './row-codec.js';
import type { RowReads } from './row-reads.js';
import { readRecord, recordOfRow } from './sqlite-reads.js';
import { attemptParams, decodeTask, eventParams, newTaskParams, releaseParams, taskStateParams, type RawTaskRow } from './sqlite-rows.js';
import type { SqliteStatements } from './sqlite-statements.js';

/** One connection's statements, read and written as the lifecycle's rows. */
export class SqliteTables implements RowReads {
  constructor(private readonly stmts: SqliteStatements) {}

  named(ids: readonly string[]): TaskRow[] {
    return this.stmts.tasksByIds.all(JSON.stringify(ids)).map(decodeTask);
  }

  lastSeq(): number {
    return this.stmts.maxSeq.get() ?? 0;
  }

  task(id: string): TaskRows | undefined {
    const raw = this.stmts.taskById.get(id);
    return raw === undefined ? undefined : this.withAttempts(raw);
  }

  leased(id: string, lease: string): TaskRows | undefined {
    const raw = this.stmts.fenced.get({ id, lease });
    return raw === undefined ? undefined : this.withAttempts(raw);
  }

  holding(leases: readonly string[]): TaskRow[] {
    return this.stmts.holding.all(JSON.stringify(leases)).map(decodeTask);
  }

  heldBy(nodeId: string): TaskRows[] {
    return this.stmts.heldBy.all(nodeId).map((raw) => this.withAttempts(raw));
  }

  expired(now: number): TaskRows[] {
    return this.stmts.expired.all(now).map((raw) => this.withAttempts(raw));
  }

  due(now: number): TaskRow[] {
    return this.stmts.due.all(now).map(decodeTask);
  }

  pick(capabilities: readonly string[], taskId: string | undefined, now: number): TaskRow | undefined {
    const caps = JSON.stringify(normalizeNeeds(capabilities));
    const raw = taskId === undefined ? this.stmts.pickBest.get({ caps, now }) : this.stmts.pickExact.get({ caps, id: taskId, now });
    return raw === undefined ? undefined : decodeTask(raw);
  }

  dependents(id: string): TaskRow[] {
    return this.stmts.dependentRows.all(id).map(decodeTask);
  }

  blockReach(ids: readonly string[]): Subgraph {
    const tasks = new Map(this.stmts.blockReach.all(JSON.stringify(ids)).map((raw) => [raw.id, decodeTask(raw)]));
    return { tasks, dependents: this.edgesFrom([...tasks.keys()]) };
  }

  unblockReach(id: string): Subgraph {
    const down = this.stmts.unblockReach.all(id).map(decodeTask);
    const downIds = down.map((row) => row.id);
    // Whether a task can complete again depends on all its dependencies, downstream or not.
    const deps = this.stmts.depRows.all(JSON.stringify(downIds)).map(decodeTask);
    return { tasks: new Map([...deps, ...down].map((row) => [row.id, row])), dependents: this.edgesFrom([id, ...downIds]) };
  }

  record(id: string): TaskRecord | undefined {
    return readRecord(this.stmts, id);
  }

  ready(now: number, limit: number): TaskRecord[] {
    return this.stmts.readyTasks.all(now, limit).map((raw) => recordOfRow(this.stmts, raw));
  }

  /** Writes a plan's changes and logs its events. */
  apply({ writes, events }: Changes): void {
    const { stmts } = this;
    for (const { row, deps } of writes.added) {
      stmts.insertTask.run(newTaskParams(row));
      for (const dep of deps) stmts.insertDep.run(row.id, dep);
    }
    for (const row of writes.tasks) stmts.updateTask.run(taskStateParams(row));
    for (const key of writes.droppedAttempts) stmts.deleteAttempt.run(key);
    for (const row of writes.attempts) stmts.putAttempt.run(attemptParams(row));
    for (const row of writes.releases) stmts.insertRelease.run(releaseParams(row));
    for (const event of events) stmts.insertEvent.run(eventParams(event));
  }

  private withAttempts(raw: RawTaskRow): TaskRows {
    return { task: decodeTask(raw), attempts: this.stmts.attemptsOf.all(raw.id).map(decodeAttempt) };
  }

  /** The dependents of each of `ids`, in submission order. */
  private edgesFrom(ids: readonly string[]): Map<string, string[]> {
    return dependentsByTask(this.stmts.edgesFrom.all(JSON.stringify(ids)));
  }
}
