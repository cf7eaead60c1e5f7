/**
 * The SQLite store's raw rows (JSON in TEXT columns, integers as numbers, booleans as 0/1),
 * their decoding into the lifecycle's rows, and the reverse: the named parameters its
 * statements write a row with.
 */
import { normalizeNeeds } from '../lifecycle/capabilities.js';
import type { NewEvent } from '../lifecycle/events.js';
import type { AttemptRow, ReleaseRow, TaskRow } from '../lifecycle/rows.js';
import type { TaskSpec } from '../tasks/spec.js';
import { decodeTaskError, jsonOrNull, parseJson, parseTaskStatus } from './row-codec.js';
import type { StoredEvent } from './task-store.js';

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
  rate_limit_waits: number;
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
    rateLimitWaits: raw.rate_limit_waits,
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
    error: decodeTaskError(parseJson(raw.error)),
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

/** The parameters of the columns a task's life changes (all but id, seq, spec, priority, needs). */
export function taskStateParams(row: TaskRow) {
  return {
    id: row.id,
    status: row.status,
    unmetDeps: row.unmetDeps,
    readyAt: row.readyAt,
    releases: row.releases,
    crashReleases: row.crashReleases,
    rateLimitWaits: row.rateLimitWaits,
    attemptCount: row.attemptCount,
    attemptBase: row.attemptBase,
    lease: row.lease,
    leaseExpiresAt: row.leaseExpiresAt,
    worker: row.worker,
    node: row.node,
    startedAt: row.startedAt,
    finishedAt: row.finishedAt,
    exitCode: row.exitCode,
    result: jsonOrNull(row.result),
    commit: row.commit,
    error: jsonOrNull(row.error),
  };
}

/** The parameters of a new task's row. */
export function newTaskParams(row: TaskRow) {
  const { spec } = row;
  return { ...taskStateParams(row), seq: row.seq, spec: JSON.stringify(spec), priority: spec.priority, needs: JSON.stringify(normalizeNeeds(spec.needs)) };
}

/** The parameters of an `attempts` row (session and usage as JSON text). */
export function attemptParams(row: AttemptRow) {
  return { ...row, session: jsonOrNull(row.session), usage: jsonOrNull(row.usage) };
}

/** The parameters of a `releases` row. */
export function releaseParams(row: ReleaseRow) {
  return { ...row, crash: row.crash ? 1 : 0, session: jsonOrNull(row.session), usage: jsonOrNull(row.usage) };
}

/** The parameters of an `events` row. */
export function eventParams(event: NewEvent) {
  return { at: event.at, type: event.type, taskId: event.taskId, nodeId: event.nodeId, data: JSON.stringify(event.data) };
}
