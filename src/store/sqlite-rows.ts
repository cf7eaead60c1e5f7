/**
 * The SQLite store's raw rows (JSON in TEXT columns, integers as numbers) and their decoding
 * into the backend-neutral rows of task-rows.ts.
 */
import type { TaskError } from '../queue/task-record.js';
import type { TaskSpec } from '../tasks/spec.js';
import type { StoredEvent } from './task-store.js';
import { parseJson, parseTaskStatus, type TaskRow } from './task-rows.js';

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
  crash_releases: number;
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

/** `SELECT * FROM events`. */
export interface RawEventRow {
  id: number;
  at: number;
  type: string;
  task_id: string | null;
  node_id: string | null;
  data: string;
}

/** Decodes a `tasks` row. */
export function decodeTask(raw: RawTaskRow): TaskRow {
  return {
    id: raw.id,
    seq: raw.seq,
    spec: JSON.parse(raw.spec) as TaskSpec,
    status: parseTaskStatus(raw.status, raw.id),
    unmetDeps: raw.unmet_deps,
    readyAt: raw.ready_at,
    releases: raw.releases,
    crashReleases: raw.crash_releases,
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
