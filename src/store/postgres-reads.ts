/**
 * Reading whole task records out of the PostgreSQL store: rows plus their dependents,
 * attempts and released starts, in a fixed number of statements however many records are read.
 */
import type { PoolClient } from 'pg';
import { toTaskRecord } from '../lifecycle/record-of-rows.js';
import type { TaskRecord } from '../lifecycle/task-record.js';
import { decodePgTask, type PgTaskRow } from './postgres-rows.js';
import type { PostgresSql } from './postgres-sql.js';
import { decodeAttempt, decodeRelease, dependentsByTask, groupBy, type RawAttemptRow, type RawReleaseRow } from './row-codec.js';

/** A `tasks` row with its attempts, released starts and dependents (`recordsByIds`, `readyRecords`). */
export interface PgRecordRow extends PgTaskRow {
  attempt_rows: RawAttemptRow[];
  release_rows: RawReleaseRow[];
  dependent_ids: string[];
}

/** The records `text` selects (one statement: rows, attempts, released starts and dependents together). */
export async function readRecords(c: PoolClient, text: string, values: unknown[]): Promise<TaskRecord[]> {
  const rows = (await c.query<PgRecordRow>(text, values)).rows;
  return rows.map((row) =>
    toTaskRecord(decodePgTask(row), row.dependent_ids, row.attempt_rows.map(decodeAttempt), row.release_rows.map(decodeRelease)),
  );
}

/** Every record, in submission order: four scans, whatever the number of tasks. */
export async function readAllRecords(c: PoolClient, sql: PostgresSql): Promise<TaskRecord[]> {
  const rows = (await c.query<PgTaskRow>(sql.allTasks)).rows;
  const dependents = dependentsByTask((await c.query<{ dep_id: string; task_id: string }>(sql.allEdges)).rows);
  const attempts = groupBy((await c.query<RawAttemptRow>(sql.allAttempts)).rows.map(decodeAttempt), (attempt) => attempt.taskId);
  const releases = groupBy((await c.query<RawReleaseRow>(sql.allReleases)).rows.map(decodeRelease), (release) => release.taskId);
  return rows.map((raw) =>
    toTaskRecord(decodePgTask(raw), dependents.get(raw.id) ?? [], attempts.get(raw.id) ?? [], releases.get(raw.id) ?? []),
  );
}
