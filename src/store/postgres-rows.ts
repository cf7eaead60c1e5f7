/**
 * The PostgreSQL store's raw rows (`pg` hands `bigint` back as strings, `json` parsed) and
 * their decoding into the lifecycle's rows (the reverse: postgres-columns.ts).
 */
import type { TaskRow, TaskRows } from '../lifecycle/rows.js';
import type { TaskSpec } from '../tasks/spec.js';
import { decodeAttempt, decodeTaskError, parseTaskStatus, type RawAttemptRow } from './row-codec.js';
import type { StoredEvent } from './task-store.js';

/** `SELECT * FROM tasks`. */
export interface PgTaskRow {
  id: string;
  seq: string;
  spec: TaskSpec;
  priority: number;
  needs: string[];
  status: string;
  unmet_deps: number;
  ready_at: string;
  releases: number;
  crash_releases: number;
  rate_limit_waits: number;
  attempt_count: number;
  attempt_base: number;
  lease: string | null;
  lease_expires_at: string | null;
  worker: string | null;
  node: string | null;
  started_at: string | null;
  finished_at: string | null;
  exit_code: number | null;
  result: unknown;
  commit_sha: string | null;
  error: unknown;
}

/** A `tasks` row with its attempts (`json_agg`, by number). */
export interface PgTaskWithAttempts extends PgTaskRow {
  attempt_rows: RawAttemptRow[];
}

/** `SELECT * FROM events`. */
export interface PgEventRow {
  id: string;
  at: string;
  type: string;
  task_id: string | null;
  node_id: string | null;
  data: Record<string, unknown>;
}

/** A row of an in-flight task. */
export interface PgInFlightRow {
  id: string;
  lease: string;
  node: string | null;
  worker: string | null;
  lease_expires_at: string | null;
}

/** bigint text → number (epoch ms and sequence numbers stay far below 2^53). */
export function toNumber(value: string | number | null): number | null {
  return value === null ? null : Number(value);
}

/** Decodes a `tasks` row. */
export function decodePgTask(raw: PgTaskRow): TaskRow {
  return {
    id: raw.id,
    seq: Number(raw.seq),
    spec: raw.spec,
    status: parseTaskStatus(raw.status, raw.id),
    unmetDeps: raw.unmet_deps,
    readyAt: Number(raw.ready_at),
    releases: raw.releases,
    crashReleases: raw.crash_releases,
    rateLimitWaits: raw.rate_limit_waits,
    attemptCount: raw.attempt_count,
    attemptBase: raw.attempt_base,
    lease: raw.lease,
    leaseExpiresAt: toNumber(raw.lease_expires_at),
    worker: raw.worker,
    node: raw.node,
    startedAt: raw.started_at,
    finishedAt: raw.finished_at,
    exitCode: raw.exit_code,
    result: raw.result ?? null,
    commit: raw.commit_sha,
    error: decodeTaskError(raw.error),
  };
}

/** Decodes a `tasks` row read with its attempts. */
export function decodePgTaskRows(raw: PgTaskWithAttempts): TaskRows {
  return { task: decodePgTask(raw), attempts: raw.attempt_rows.map(decodeAttempt) };
}

/** Decodes an `events` row. */
export function decodePgEvent(raw: PgEventRow): StoredEvent {
  return { id: Number(raw.id), at: Number(raw.at), type: raw.type, taskId: raw.task_id, nodeId: raw.node_id, data: raw.data };
}
