/**
 * The SQL stores' rows, decoded into plain values (each backend decodes its own column
 * types), and their assembly into {@link TaskRecord}s identical in shape to the in-memory
 * queue's, so the summary and the contract suite cannot tell the backends apart.
 */
import type { AttemptRecord, TaskError, TaskRecord, TaskStatus } from '../queue/task-record.js';
import type { TaskSpec } from '../tasks/spec.js';

/** One `tasks` row, decoded. */
export interface TaskRow {
  id: string;
  seq: number;
  spec: TaskSpec;
  status: TaskStatus;
  unmetDeps: number;
  readyAt: number;
  releases: number;
  attemptCount: number;
  attemptBase: number;
  lease: string | null;
  leaseExpiresAt: number | null;
  worker: string | null;
  node: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  exitCode: number | null;
  result: unknown;
  commit: string | null;
  error: TaskError | null;
}

/** One `attempts` row, decoded. */
export interface AttemptRow {
  taskId: string;
  attempt: number;
  node: string | null;
  worker: string;
  lease: string;
  assignedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  exitCode: number | null;
  code: string | null;
  message: string | null;
}

/** Value → JSON text; null/undefined → SQL NULL. */
export function jsonOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}

/** JSON text → value; SQL NULL → null. */
export function parseJson(text: string | null): unknown {
  return text === null ? null : (JSON.parse(text) as unknown);
}

/** `SELECT * FROM attempts`, as both SQL backends return it. */
export interface RawAttemptRow {
  task_id: string;
  attempt: number;
  node: string | null;
  worker: string;
  lease: string;
  assigned_at: string;
  started_at: string | null;
  finished_at: string | null;
  exit_code: number | null;
  code: string | null;
  message: string | null;
}

/** Decodes an `attempts` row. */
export function decodeAttempt(raw: RawAttemptRow): AttemptRow {
  return {
    taskId: raw.task_id,
    attempt: raw.attempt,
    node: raw.node,
    worker: raw.worker,
    lease: raw.lease,
    assignedAt: raw.assigned_at,
    startedAt: raw.started_at,
    finishedAt: raw.finished_at,
    exitCode: raw.exit_code,
    code: raw.code,
    message: raw.message,
  };
}

/** The attempt as the queue records it (`node` omitted when unknown, as the queue does). */
export function toAttemptRecord(row: AttemptRow): AttemptRecord {
  return {
    attempt: row.attempt,
    ...(row.node === null ? {} : { node: row.node }),
    worker: row.worker,
    lease: row.lease,
    assignedAt: row.assignedAt,
    startedAt: row.startedAt,
    finishedAt: row.finishedAt,
    exitCode: row.exitCode,
    code: row.code,
    message: row.message,
  };
}

/** The record for `row`, given its dependents (submission order) and attempts (by number). */
export function toTaskRecord(row: TaskRow, dependents: readonly string[], attempts: readonly AttemptRow[]): TaskRecord {
  return {
    spec: row.spec,
    seq: row.seq,
    status: row.status,
    unmetDeps: row.unmetDeps,
    dependents: [...dependents],
    attempts: attempts.map(toAttemptRecord),
    releases: row.releases,
    attemptBase: row.attemptBase,
    lease: row.lease,
    leaseExpiresAt: row.leaseExpiresAt,
    worker: row.worker,
    node: row.node,
    branch: `coord/${row.id}`,
    startedAt: row.startedAt,
    finishedAt: row.finishedAt,
    exitCode: row.exitCode,
    result: row.result,
    commit: row.commit,
    error: row.error,
    readyAt: row.readyAt,
  };
}

/** Groups `rows` by `key`, keeping their order. */
export function groupBy<T>(rows: readonly T[], key: (row: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const row of rows) {
    const k = key(row);
    const group = groups.get(k);
    if (group === undefined) groups.set(k, [row]);
    else group.push(row);
  }
  return groups;
}
