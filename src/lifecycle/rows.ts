/**
 * The rows the lifecycle plans read and write: one `tasks` row per task, one `attempts` row
 * per counted attempt, one `releases` row per start taken back without a verdict. Every store
 * keeps these rows (SQLite and PostgreSQL in tables of those names, memory in maps) and
 * decodes its own column types into them, so one plan serves all three.
 *
 * Rows are values: a plan never changes one, it writes a new one (see draft.ts).
 */
import type { TaskSpec } from '../tasks/spec.js';
import type { AttemptRecord, ReleasedStart, TaskRecord } from './task-record.js';

/**
 * One `tasks` row: the record but what other tables hold (dependents, attempts, released
 * starts) and what follows from the id (branch); `attemptCount` is the number of the open or
 * last counted attempt.
 */
export interface TaskRow extends Omit<TaskRecord, 'dependents' | 'attempts' | 'released' | 'branch'> {
  readonly id: string;
  readonly attemptCount: number;
}

/**
 * One `attempts` row: the attempt as records show it, keyed by its task, with `node` null
 * where the record leaves it out. Attempt numbers run 1..`attemptCount` without gaps.
 */
export interface AttemptRow extends Omit<AttemptRecord, 'node'> {
  readonly taskId: string;
  readonly node: string | null;
}

/**
 * One `releases` row: the released start as records show it, keyed by its task and `seq` (the
 * task's `releases` count once this one is counted), with `node` null where the record leaves
 * it out.
 */
export interface ReleaseRow extends Omit<ReleasedStart, 'node'> {
  readonly taskId: string;
  readonly seq: number;
  readonly node: string | null;
}

/** A task's row with its attempts (by number): what a plan reads about a task it may close an attempt of. */
export interface TaskRows {
  readonly task: TaskRow;
  readonly attempts: readonly AttemptRow[];
}

/**
 * Part of the graph, for a walk along dependent edges (blocking, unblocking): task rows by id
 * and each one's dependents in submission order. A task the walk reaches but that is not in
 * `tasks` counts as complete, so a reader may leave out exactly what a walk need not enter.
 */
export interface Subgraph {
  readonly tasks: ReadonlyMap<string, TaskRow>;
  readonly dependents: ReadonlyMap<string, readonly string[]>;
}

/** The subgraph of a plan that walks nothing. */
export const NO_SUBGRAPH: Subgraph = { tasks: new Map(), dependents: new Map() };

/** A new task's row: `pending` (the submission plan decides otherwise), nothing run yet. */
export function newTaskRow(spec: TaskSpec, seq: number): TaskRow {
  return {
    id: spec.id,
    seq,
    spec,
    status: 'pending',
    unmetDeps: 0,
    readyAt: 0,
    releases: 0,
    crashReleases: 0,
    rateLimitWaits: 0,
    attemptCount: 0,
    attemptBase: 0,
    lease: null,
    leaseExpiresAt: null,
    worker: null,
    node: null,
    startedAt: null,
    finishedAt: null,
    exitCode: null,
    result: null,
    commit: null,
    error: null,
  };
}
