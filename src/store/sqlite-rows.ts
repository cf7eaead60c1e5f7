/**
 * The SQLite store's raw rows (JSON in TEXT columns, integers as numbers) and their decoding
 * into the backend-neutral rows of task-rows.ts.
 */
import type { TaskError, TaskStatus } from '../queue/task-record.js';
import type { TaskSpec } from '../tasks/spec.js';
import type { StoredEvent } from './task-store.js';
import type { AttemptRow, TaskRow } from './task-rows.js';

/** `SELECT * FROM tasks`. */
export interface RawTaskRow {
  id: string;
  seq: number;
  spec: string;
  priority: number;
  needs: string;
  status: string;
  unmet_deps: number;
  ready_at: number;
  releases: number;
  attempt_count: number;
  attempt_base: number;
  lease: string | null;
  lease_expires_at: number | null;
  worker: string | null;
  node: string | null;
  started_at: string | null;
  finished_at: string | null;
  exit_code: number | null;
  result: string | null;
  commit_sha: string | null;
  error: string | null;
}

/** `SELECT * FROM attempts`. */
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

/** `SELECT * FROM events`. */
export interface RawEventRow {
  id: number;
  at: number;
  type: string;
  task_id: string | null;
  node_id: string | null;
  data: string;
}

/** JSON text → value; SQL NULL → null. */
export function parseJson(text: string | null): unknown {
  return text === null ? null : (JSON.parse(text) as unknown);
}

/** Value → JSON text; null/undefined → SQL NULL. */
export function jsonOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}

/** Decodes a `tasks` row. */
export function decodeTask(raw: RawTaskRow): TaskRow {
  return {
    id: raw.id,
    seq: raw.seq,
    spec: JSON.parse(raw.spec) as TaskSpec,
    status: raw.status as TaskStatus,
    unmetDeps: raw.unmet_deps,
    readyAt: raw.ready_at,
    releases: raw.releases,
    attemptCount: raw.attempt_count,
    attemptBase: raw.attempt_base,
    lease: raw.lease,
    leaseExpiresAt: raw.lease_expires_at,
    worker: raw.worker,
    node: raw.node,
    startedAt: raw.started_at,
    finishedAt: raw.finished_at,
    exitCode: raw.exit_code,
    result: parseJson(raw.result),
    commit: raw.commit_sha,
    error: parseJson(raw.error) as TaskError | null,
  };
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

/** Decodes an `events` row. */
export function decodeEvent(raw: RawEventRow): StoredEvent {
  return {
    id: raw.id,
    at: raw.at,
    type: raw.type,
    taskId: raw.task_id,
    nodeId: raw.node_id,
    data: JSON.parse(raw.data) as Record<string, unknown>,
  };
}
