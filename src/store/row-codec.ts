/**
 * What the two SQL stores share in decoding their rows into the lifecycle's rows (each backend
 * decodes its own column types: sqlite-rows.ts, postgres-rows.ts). Values that come from the
 * database are parsed here, once: a status this code does not know is `STORE_CORRUPT`, an
 * error code is read into the closed {@link CoordErrorCode} union.
 */
import type { AgentSession, AgentUsage } from '../agents/types.js';
import { CoordError, parseErrorCode } from '../errors.js';
import type { AttemptRow, ReleaseRow } from '../lifecycle/rows.js';
import { TASK_STATUSES, type TaskError, type TaskStatus } from '../lifecycle/task-record.js';

const STATUS_SET: ReadonlySet<string> = new Set(TASK_STATUSES);

function isTaskStatus(value: string): value is TaskStatus {
  return STATUS_SET.has(value);
}

/**
 * A stored status, checked: a value this code does not know means the store was damaged or
 * written by something else, and deciding on it would do the wrong thing (`STORE_CORRUPT`).
 */
export function parseTaskStatus(value: string, taskId: string | null): TaskStatus {
  if (isTaskStatus(value)) return value;
  const which = taskId === null ? 'a task' : `task "${taskId}"`;
  throw new CoordError('STORE_CORRUPT', `${which} has an unknown status in the store: ${JSON.stringify(value)}`, {
    details: { taskId, status: value },
  });
}

/** Per-status counts from `(status, n)` rows, every status present. */
export function parseCounts(rows: ReadonlyArray<{ status: string; n: number }>): Record<TaskStatus, number> {
  const counts = Object.fromEntries(TASK_STATUSES.map((status) => [status, 0])) as Record<TaskStatus, number>;
  for (const row of rows) counts[parseTaskStatus(row.status, null)] += row.n;
  return counts;
}

/**
 * A stored `error` (parsed JSON) as a {@link TaskError}: its code read into the closed union
 * (a code this coord does not know, e.g. from an older one, is `INTERNAL`), `details` kept
 * when present.
 */
export function decodeTaskError(value: unknown): TaskError | null {
  if (value === null || typeof value !== 'object') return null;
  const { code, message, details } = value as { code?: unknown; message?: unknown; details?: unknown };
  const error = { code: parseErrorCode(code), message: typeof message === 'string' ? message : String(message ?? '') };
  return details !== null && typeof details === 'object' ? { ...error, details: details as Record<string, unknown> } : error;
}

/** Value → JSON text; null/undefined → SQL NULL. */
export function jsonOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}

/** JSON text → value; SQL NULL → null. */
export function parseJson(text: string | null): unknown {
  return text === null ? null : (JSON.parse(text) as unknown);
}

/** A JSON column as a backend hands it over: SQLite as text, PostgreSQL (`json`) parsed. */
function jsonColumn(value: unknown): unknown {
  return typeof value === 'string' ? (JSON.parse(value) as unknown) : value;
}

const isRecord = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object';
const count = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0);

/** A stored `agent_session` (JSON) as an {@link AgentSession}; null when absent or not one. */
export function decodeSession(value: unknown): AgentSession | null {
  const parsed = jsonColumn(value);
  if (!isRecord(parsed) || typeof parsed.agent !== 'string' || typeof parsed.id !== 'string') return null;
  return { agent: parsed.agent, id: parsed.id };
}

/**
 * A stored `agent_usage` (JSON) as an {@link AgentUsage}; null when absent. A count missing
 * (from a coord that did not know it) reads as 0, an unknown cost as null.
 */
export function decodeUsage(value: unknown): AgentUsage | null {
  const parsed = jsonColumn(value);
  if (!isRecord(parsed)) return null;
  return {
    inputTokens: count(parsed.inputTokens),
    outputTokens: count(parsed.outputTokens),
    cacheReadTokens: count(parsed.cacheReadTokens),
    cacheWriteTokens: count(parsed.cacheWriteTokens),
    costUsd: typeof parsed.costUsd === 'number' && Number.isFinite(parsed.costUsd) ? parsed.costUsd : null,
  };
}

/** The columns `attempts` and `releases` share, as both SQL backends return them. */
interface RawRun {
  task_id: string;
  attempt: number;
  node: string | null;
  worker: string;
  lease: string;
  assigned_at: string;
  started_at: string | null;
  /** JSON (schema version 3): text in SQLite, parsed in PostgreSQL; NULL for none. */
  agent_session: unknown;
  agent_usage: unknown;
}

/** `SELECT * FROM attempts`, as both SQL backends return it. */
export interface RawAttemptRow extends RawRun {
  finished_at: string | null;
  exit_code: number | null;
  code: string | null;
  message: string | null;
}

/** The columns of a run, decoded. */
function decodeRun(raw: RawRun) {
  return {
    taskId: raw.task_id,
    attempt: raw.attempt,
    node: raw.node,
    worker: raw.worker,
    lease: raw.lease,
    assignedAt: raw.assigned_at,
    startedAt: raw.started_at,
    session: decodeSession(raw.agent_session),
    usage: decodeUsage(raw.agent_usage),
  };
}

/** Decodes an `attempts` row. */
export function decodeAttempt(raw: RawAttemptRow): AttemptRow {
  return {
    ...decodeRun(raw),
    finishedAt: raw.finished_at,
    exitCode: raw.exit_code,
    code: raw.code === null ? null : parseErrorCode(raw.code),
    message: raw.message,
  };
}

/** `SELECT * FROM releases`: `crash` is 0/1 in SQLite, a boolean in PostgreSQL. */
export interface RawReleaseRow extends RawRun {
  seq: number | string;
  released_at: string;
  reason: string;
  crash: number | boolean;
}

/** Decodes a `releases` row. */
export function decodeRelease(raw: RawReleaseRow): ReleaseRow {
  return {
    ...decodeRun(raw),
    seq: Number(raw.seq),
    releasedAt: raw.released_at,
    reason: raw.reason,
    crash: raw.crash === true || raw.crash === 1,
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

/** Each task's dependents from `(dep_id, task_id)` edges in submission order. */
export function dependentsByTask(edges: ReadonlyArray<{ dep_id: string; task_id: string }>): Map<string, string[]> {
  const dependents = new Map<string, string[]>();
  for (const edge of edges) {
    const list = dependents.get(edge.dep_id);
    if (list === undefined) dependents.set(edge.dep_id, [edge.task_id]);
    else list.push(edge.task_id);
  }
  return dependents;
}
