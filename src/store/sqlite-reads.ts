/**
 * Reading whole task records out of the SQLite store: a row plus its dependents and its
 * attempts and released starts, assembled as every store assembles them.
 */
import { toTaskRecord } from '../lifecycle/record-of-rows.js';
import type { TaskRecord } from '../lifecycle/task-record.js';
import { decodeAttempt, decodeRelease, dependentsByTask, groupBy } from './row-codec.js';
import { decodeTask, type RawTaskRow } from './sqlite-rows.js';
import type { SqliteStatements } from './sqlite-statements.js';

/** The record built from `raw` (dependents and attempts read per task: for a few records). */
export function recordOfRow(stmts: SqliteStatements, raw: RawTaskRow): TaskRecord {
  const attempts = stmts.attemptsOf.all(raw.id).map(decodeAttempt);
  const releases = stmts.releasesOf.all(raw.id).map(decodeRelease);
  return toTaskRecord(decodeTask(raw), stmts.dependentsOf.all(raw.id), attempts, releases);
}

/** The record for `id`, if any. */
export function readRecord(stmts: SqliteStatements, id: string): TaskRecord | undefined {
  const raw = stmts.taskById.get(id);
  return raw === undefined ? undefined : recordOfRow(stmts, raw);
}

/** Every record in submission order: four scans, whatever the number of tasks. */
export function readAllRecords(stmts: SqliteStatements): TaskRecord[] {
  const dependents = dependentsByTask(stmts.allEdges.all());
  const attempts = groupBy(stmts.allAttempts.all().map(decodeAttempt), (attempt) => attempt.taskId);
  const releases = groupBy(stmts.allReleases.all().map(decodeRelease), (release) => release.taskId);
  return stmts.allTasks.all().map((raw) =>
    toTaskRecord(decodeTask(raw), dependents.get(raw.id) ?? [], attempts.get(raw.id) ?? [], releases.get(raw.id) ?? []),
  );
}
