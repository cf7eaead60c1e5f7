/**
 * The columns the PostgreSQL store writes a plan's rows into, each with the type of the array
 * it travels in and how a row gives its value: one table per kind of row, from which the
 * statements are written (postgres-sql.ts) and the parameters encoded ({@link columnArrays}),
 * so the two cannot disagree on the order.
 */
import { normalizeNeeds } from '../lifecycle/capabilities.js';
import type { NewEvent } from '../lifecycle/events.js';
import type { AttemptRow, ReleaseRow, TaskRow } from '../lifecycle/rows.js';
import { jsonOrNull } from './row-codec.js';

/** A column: its name, its type (`json` travels as text and is cast on the way in), and the value a row gives it. */
export interface Column<R> {
  readonly name: string;
  readonly type: 'text' | 'int' | 'bigint' | 'boolean' | 'json';
  readonly value: (row: R) => unknown;
}

/** The columns a task's life changes (all but id, seq, spec, priority, needs). */
export const TASK_STATE_COLUMNS: ReadonlyArray<Column<TaskRow>> = [
  { name: 'status', type: 'text', value: (row) => row.status },
  { name: 'unmet_deps', type: 'int', value: (row) => row.unmetDeps },
  { name: 'ready_at', type: 'bigint', value: (row) => row.readyAt },
  { name: 'releases', type: 'int', value: (row) => row.releases },
  { name: 'crash_releases', type: 'int', value: (row) => row.crashReleases },
  { name: 'rate_limit_waits', type: 'int', value: (row) => row.rateLimitWaits },
  { name: 'attempt_count', type: 'int', value: (row) => row.attemptCount },
  { name: 'attempt_base', type: 'int', value: (row) => row.attemptBase },
  { name: 'lease', type: 'text', value: (row) => row.lease },
  { name: 'lease_expires_at', type: 'bigint', value: (row) => row.leaseExpiresAt },
  { name: 'worker', type: 'text', value: (row) => row.worker },
  { name: 'node', type: 'text', value: (row) => row.node },
  { name: 'started_at', type: 'text', value: (row) => row.startedAt },
  { name: 'finished_at', type: 'text', value: (row) => row.finishedAt },
  { name: 'exit_code', type: 'int', value: (row) => row.exitCode },
  { name: 'result', type: 'json', value: (row) => jsonOrNull(row.result) },
  { name: 'commit_sha', type: 'text', value: (row) => row.commit },
  { name: 'error', type: 'json', value: (row) => jsonOrNull(row.error) },
];

/** A task's id. */
export const TASK_ID_COLUMN: Column<TaskRow> = { name: 'id', type: 'text', value: (row) => row.id };

/** The columns a new task's row also has (`needs`: a JSON array, stored as `text[]`). */
export const TASK_IDENTITY_COLUMNS: ReadonlyArray<Column<TaskRow>> = [
  TASK_ID_COLUMN,
  { name: 'seq', type: 'bigint', value: (row) => row.seq },
  { name: 'spec', type: 'json', value: (row) => JSON.stringify(row.spec) },
  { name: 'priority', type: 'int', value: (row) => row.spec.priority },
  { name: 'needs', type: 'json', value: (row) => JSON.stringify(normalizeNeeds(row.spec.needs)) },
];

/** The key of an `attempts` row. */
export const ATTEMPT_KEY_COLUMNS: ReadonlyArray<Column<{ taskId: string; attempt: number }>> = [
  { name: 'task_id', type: 'text', value: (row) => row.taskId },
  { name: 'attempt', type: 'int', value: (row) => row.attempt },
];

/** What an attempt and a released start both hold about their run. */
type Run = Pick<AttemptRow, 'node' | 'worker' | 'lease' | 'assignedAt' | 'startedAt' | 'session' | 'usage'>;

const RUN_COLUMNS: ReadonlyArray<Column<Run>> = [
  { name: 'node', type: 'text', value: (row) => row.node },
  { name: 'worker', type: 'text', value: (row) => row.worker },
  { name: 'lease', type: 'text', value: (row) => row.lease },
  { name: 'assigned_at', type: 'text', value: (row) => row.assignedAt },
  { name: 'started_at', type: 'text', value: (row) => row.startedAt },
];

/** What the agent of a run reported (schema version 3). */
const AGENT_COLUMNS: ReadonlyArray<Column<Run>> = [
  { name: 'agent_session', type: 'json', value: (row) => jsonOrNull(row.session) },
  { name: 'agent_usage', type: 'json', value: (row) => jsonOrNull(row.usage) },
];

/** An `attempts` row. */
export const ATTEMPT_COLUMNS: ReadonlyArray<Column<AttemptRow>> = [
  ...ATTEMPT_KEY_COLUMNS,
  ...RUN_COLUMNS,
  { name: 'finished_at', type: 'text', value: (row) => row.finishedAt },
  { name: 'exit_code', type: 'int', value: (row) => row.exitCode },
  { name: 'code', type: 'text', value: (row) => row.code },
  { name: 'message', type: 'text', value: (row) => row.message },
  ...AGENT_COLUMNS,
];

/** A `releases` row. */
export const RELEASE_COLUMNS: ReadonlyArray<Column<ReleaseRow>> = [
  { name: 'task_id', type: 'text', value: (row) => row.taskId },
  { name: 'seq', type: 'int', value: (row) => row.seq },
  { name: 'attempt', type: 'int', value: (row) => row.attempt },
  ...RUN_COLUMNS,
  { name: 'released_at', type: 'text', value: (row) => row.releasedAt },
  { name: 'reason', type: 'text', value: (row) => row.reason },
  { name: 'crash', type: 'boolean', value: (row) => row.crash },
  ...AGENT_COLUMNS,
];

/** An `events` row but its id (numbered by the sequence, in the order given). */
export const EVENT_COLUMNS: ReadonlyArray<Column<NewEvent>> = [
  { name: 'at', type: 'bigint', value: (event) => event.at },
  { name: 'type', type: 'text', value: (event) => event.type },
  { name: 'task_id', type: 'text', value: (event) => event.taskId },
  { name: 'node_id', type: 'text', value: (event) => event.nodeId },
  { name: 'data', type: 'json', value: (event) => JSON.stringify(event.data) },
];

/** `rows` as one array per column of `columns`: the parameters of an `unnest`. */
export function columnArrays<R>(rows: readonly R[], columns: ReadonlyArray<Column<R>>): unknown[][] {
  return columns.map((column) => rows.map(column.value));
}
