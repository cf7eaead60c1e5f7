/**
 * The SQL stores' rows, decoded into plain values (each backend decodes its own column
 * types), and their assembly into {@link TaskRecord}s identical in shape to the in-memory
 * queue's, so the summary and the contract suite cannot tell the backends apart.
 */
import { CoordError } from '../errors.js';
import { TASK_STATUSES, type AttemptRecord, type ReleasedStart, type TaskError, type TaskRecord, type TaskStatus } from '../queue/task-record.js';
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
  crashReleases: number;
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

/** One `releases` row, decoded. */
export interface ReleaseRow {
  taskId: string;
  seq: number;
  attempt: number;
  node: string | null;
  worker: string;
  lease: string;
  assignedAt: string;
  startedAt: string | null;
  releasedAt: string;
  reason: string;
  crash: boolean;
}

const STATUS_SET: ReadonlySet<string> = new Set(TASK_STATUSES);

/**
 * A stored status, checked: a value this code does not know means the store was damaged or
 * written by something else, and deciding on it would do the wrong thing (`STORE_CORRUPT`).
 */
export function parseTaskStatus(value: string, taskId: string): TaskStatus {
  if (STATUS_SET.has(value)) return value as TaskStatus;
  throw new CoordError('STORE_CORRUPT', `task "${taskId}" has an unknown status in the store: ${JSON.stringify(value)}`, {
    details: { taskId, status: value },
  });
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

/** `SELECT * FROM releases`: `crash` is 0/1 in SQLite, a boolean in PostgreSQL. */
export interface RawReleaseRow {
  task_id: string;
  seq: number | string;
  attempt: number;
  node: string | null;
  worker: string;
  lease: string;
  assigned_at: string;
  started_at: string | null;
  released_at: string;
  reason: string;
  crash: number | boolean;
}

/** Decodes a `releases` row. */
export function decodeRelease(raw: RawReleaseRow): ReleaseRow {
  return {
    taskId: raw.task_id,
    seq: Number(raw.seq),
    attempt: raw.attempt,
    node: raw.node,
    worker: raw.worker,
    lease: raw.lease,
    assignedAt: raw.assigned_at,
    startedAt: raw.started_at,
    releasedAt: raw.released_at,
    reason: raw.reason,
    crash: raw.crash === true || raw.crash === 1,
  };
}

/** The released start as the queue records it (`node` omitted when unknown, as the queue does). */
export function toReleasedStart(row: ReleaseRow): ReleasedStart {
  return {
    attempt: row.attempt,
    ...(row.node === null ? {} : { node: row.node }),
    worker: row.worker,
    lease: row.lease,
    assignedAt: row.assignedAt,
    startedAt: row.startedAt,
    releasedAt: row.releasedAt,
    reason: row.reason,
    crash: row.crash,
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

/** The record for `row`, given its dependents (submission order), attempts (by number) and released starts (by seq). */
export function toTaskRecord(
  row: TaskRow,
  dependents: readonly string[],
  attempts: readonly AttemptRow[],
  releases: readonly ReleaseRow[],
): TaskRecord {
  return {
    spec: row.spec,
    seq: row.seq,
    status: row.status,
    unmetDeps: row.unmetDeps,
    dependents: [...dependents],
    attempts: attempts.map(toAttemptRecord),
    releases: row.releases,
    released: releases.map(toReleasedStart),
    crashReleases: row.crashReleases,
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
