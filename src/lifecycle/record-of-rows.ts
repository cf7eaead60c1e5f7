/**
 * Assembling the public {@link TaskRecord} from a task's rows, the same for every store, so the
 * summary and the contract suite cannot tell the backends apart.
 */
import type { TaskSpec } from '../tasks/spec.js';
import { newTaskRow, type AttemptRow, type ReleaseRow, type TaskRow } from './rows.js';
import type { AttemptRecord, ReleasedStart, TaskRecord } from './task-record.js';

/** The attempt as records show it: without its key, `node` left out when unknown. */
export function toAttemptRecord({ taskId: _task, attempt, node, ...rest }: AttemptRow): AttemptRecord {
  return { attempt, ...(node === null ? {} : { node }), ...rest };
}

/** The released start as records show it: without its key, `node` left out when unknown. */
export function toReleasedStart({ taskId: _task, seq: _seq, attempt, node, ...rest }: ReleaseRow): ReleasedStart {
  return { attempt, ...(node === null ? {} : { node }), ...rest };
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
    rateLimitWaits: row.rateLimitWaits,
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

/** The record of a task just submitted as `seq`, before any plan decided its status (`pending`). */
export function createTaskRecord(spec: TaskSpec, seq: number): TaskRecord {
  return toTaskRecord(newTaskRow(spec, seq), [], [], []);
}
