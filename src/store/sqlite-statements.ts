/**
 * Every statement the SQLite store runs, prepared once per connection. Readiness follows the
 * in-memory queue: `ready` tasks in (priority desc, seq) order through a partial index, and a
 * task is in flight exactly when `lease IS NOT NULL`. Completing a task touches only its
 * dependents' rows (the `deps_dependents` index and the `unmet_deps` counter), never the graph.
 */
import type Database from 'better-sqlite3';
import type { RawEventRow, RawTaskRow } from './sqlite-rows.js';
import type { RawAttemptRow, RawReleaseRow } from './task-rows.js';

/** `needs ⊆ @caps`, both JSON arrays; the common no-needs case skips the subquery. */
const SERVABLE = `(needs = '[]' OR NOT EXISTS (
  SELECT 1 FROM json_each(tasks.needs) AS n WHERE n.value NOT IN (SELECT value FROM json_each(@caps))))`;

/** A row of an in-flight task. */
export interface InFlightRow {
  id: string;
  lease: string;
  node: string | null;
  worker: string | null;
  lease_expires_at: number | null;
}

/** What the graph walks read about one task. */
export interface GraphRow {
  status: string;
  error_code: string | null;
}

type Db = Database.Database;
type Params<P> = P extends unknown[] ? P : [P];

/**
 * The part of a prepared statement the store uses. Declared here (rather than inferred from
 * better-sqlite3's types, which the declaration emitter cannot name).
 */
export interface Stmt<P, R = unknown> {
  run(...params: Params<P>): Database.RunResult;
  get(...params: Params<P>): R | undefined;
  all(...params: Params<P>): R[];
}

/** Prepares the statements on `db`. */
export function prepareSqliteStatements(db: Db) {
  const q = <P extends unknown[] | object, R = unknown>(sql: string): Stmt<P, R> => db.prepare(sql) as Stmt<P, R>;
  const pluck = <P extends unknown[], R>(sql: string): Stmt<P, R> => db.prepare(sql).pluck() as Stmt<P, R>;
  return {
    taskById: q<[string], RawTaskRow>(`SELECT * FROM tasks WHERE id = ?`),
    fenced: q<{ id: string; lease: string }, RawTaskRow>(
      `SELECT * FROM tasks WHERE id = @id AND lease = @lease AND status IN ('assigned', 'running')`,
    ),
    knownTasks: q<[string], { id: string; spec: string; status: string }>(
      `SELECT id, spec, status FROM tasks WHERE id IN (SELECT value FROM json_each(?))`,
    ),
    maxSeq: pluck<[], number>(`SELECT COALESCE(MAX(seq), 0) FROM tasks`),
    insertTask: q<{
      id: string; seq: number; spec: string; priority: number; needs: string; status: string;
      unmetDeps: number; error: string | null; finishedAt: string | null;
    }>(`INSERT INTO tasks (id, seq, spec, priority, needs, status, unmet_deps, error, finished_at)
        VALUES (@id, @seq, @spec, @priority, @needs, @status, @unmetDeps, @error, @finishedAt)`),
    insertDep: q<[string, string]>(`INSERT OR IGNORE INTO deps (task_id, dep_id) VALUES (?, ?)`),
    insertEvent: q<{ at: number; type: string; taskId: string | null; nodeId: string | null; data: string }>(
      `INSERT INTO events (at, type, task_id, node_id, data) VALUES (@at, @type, @taskId, @nodeId, @data)`,
    ),

    // INDEXED BY: without statistics the planner prefers tasks_status and sorts every ready
    // task per claim; the partial indexes give the order (or the due retries) directly.
    promoteDue: q<[number]>(`UPDATE tasks INDEXED BY tasks_due SET status = 'ready' WHERE status = 'failed' AND ready_at <= ?`),
    pickBest: q<{ caps: string }, { id: string }>(
      `SELECT id FROM tasks INDEXED BY tasks_ready WHERE status = 'ready' AND ${SERVABLE} ORDER BY priority DESC, seq LIMIT 1`,
    ),
    pickExact: q<{ caps: string; id: string }, { id: string }>(
      `SELECT id FROM tasks WHERE id = @id AND status = 'ready' AND ${SERVABLE}`,
    ),
    assign: q<{ id: string; lease: string; expiresAt: number; worker: string; node: string }, { attempt_count: number }>(
      `UPDATE tasks SET status = 'assigned', lease = @lease, lease_expires_at = @expiresAt, worker = @worker,
         node = @node, attempt_count = attempt_count + 1
       WHERE id = @id RETURNING attempt_count`,
    ),
    insertAttempt: q<{ id: string; attempt: number; node: string; worker: string; lease: string; at: string }>(
      `INSERT INTO attempts (task_id, attempt, node, worker, lease, assigned_at) VALUES (@id, @attempt, @node, @worker, @lease, @at)`,
    ),
    markRunning: q<{ id: string; at: string }>(
      `UPDATE tasks SET status = 'running', started_at = COALESCE(started_at, @at) WHERE id = @id`,
    ),
    startAttempt: q<{ id: string; attempt: number; at: string }>(
      `UPDATE attempts SET started_at = @at WHERE task_id = @id AND attempt = @attempt`,
    ),
    closeAttempt: q<{
      id: string; attempt: number; at: string; exitCode: number | null; code: string | null; message: string | null;
    }>(`UPDATE attempts SET finished_at = @at, exit_code = @exitCode, code = @code, message = @message
        WHERE task_id = @id AND attempt = @attempt`),
    revokeAttempt: q<{ id: string; attempt: number; at: string; code: string; message: string }>(
      `UPDATE attempts SET finished_at = @at, code = @code, message = @message WHERE task_id = @id AND attempt = @attempt`,
    ),
    deleteAttempt: q<{ id: string; attempt: number }>(`DELETE FROM attempts WHERE task_id = @id AND attempt = @attempt`),
    // Before the task's `releases` is counted: the new row's seq is the count after it.
    recordRelease: q<{ id: string; attempt: number; at: string; reason: string; crash: number }>(
      `INSERT INTO releases (task_id, seq, attempt, node, worker, lease, assigned_at, started_at, released_at, reason, crash)
       SELECT a.task_id, t.releases + 1, a.attempt, a.node, a.worker, a.lease, a.assigned_at, a.started_at, @at, @reason, @crash
       FROM attempts a JOIN tasks t ON t.id = a.task_id WHERE a.task_id = @id AND a.attempt = @attempt`,
    ),

    completeTask: q<{ id: string; at: string; exitCode: number | null; result: string | null; commit: string | null }>(
      `UPDATE tasks SET status = 'complete', lease = NULL, lease_expires_at = NULL, finished_at = @at,
         exit_code = @exitCode, result = @result, commit_sha = @commit, error = NULL
       WHERE id = @id`,
    ),
    // SET expressions read the old row: old unmet_deps 1 means the last one just completed.
    unlockDependents: q<[string]>(
      `UPDATE tasks SET unmet_deps = MAX(0, unmet_deps - 1),
         status = CASE WHEN status = 'pending' AND unmet_deps <= 1 THEN 'ready' ELSE status END
       WHERE id IN (SELECT task_id FROM deps WHERE dep_id = ?)`,
    ),
    retryTask: q<{ id: string; status: string; exitCode: number | null; error: string; readyAt: number }>(
      `UPDATE tasks SET status = @status, lease = NULL, lease_expires_at = NULL, exit_code = @exitCode, error = @error,
         worker = NULL, node = NULL, ready_at = @readyAt
       WHERE id = @id`,
    ),
    deadTask: q<{ id: string; exitCode: number | null; error: string; at: string }>(
      `UPDATE tasks SET status = 'dead', lease = NULL, lease_expires_at = NULL, exit_code = @exitCode, error = @error,
         finished_at = @at
       WHERE id = @id`,
    ),
    endTask: q<{ id: string; status: string; error: string; at: string }>(
      `UPDATE tasks SET status = @status, error = @error, finished_at = @at, lease = NULL, lease_expires_at = NULL
       WHERE id = @id`,
    ),
    releaseTask: q<{ id: string; crash: number }>(
      `UPDATE tasks SET status = 'ready', attempt_count = attempt_count - 1, releases = releases + 1,
         crash_releases = crash_releases + @crash,
         started_at = (SELECT started_at FROM attempts WHERE task_id = @id AND attempt = 1),
         lease = NULL, lease_expires_at = NULL, worker = NULL, node = NULL, ready_at = 0
       WHERE id = @id`,
    ),
    // A crash-release that spent the budget: taken back as releaseTask does, but dead.
    releaseDead: q<{ id: string; error: string; at: string }>(
      `UPDATE tasks SET status = 'dead', attempt_count = attempt_count - 1, releases = releases + 1,
         crash_releases = crash_releases + 1,
         started_at = (SELECT started_at FROM attempts WHERE task_id = @id AND attempt = 1),
         lease = NULL, lease_expires_at = NULL, worker = NULL, node = NULL, error = @error, finished_at = @at
       WHERE id = @id`,
    ),
    redriveTask: q<[string]>(
      `UPDATE tasks SET status = 'ready', attempt_base = attempt_count, crash_releases = 0, error = NULL, exit_code = NULL,
         finished_at = NULL, ready_at = 0
       WHERE id = ?`,
    ),
    reviveTask: q<[string]>(
      `UPDATE tasks SET status = CASE WHEN unmet_deps = 0 THEN 'ready' ELSE 'pending' END, error = NULL, finished_at = NULL
       WHERE id = ?`,
    ),
    extendLease: q<{ lease: string; expiresAt: number }>(
      `UPDATE tasks SET lease_expires_at = @expiresAt WHERE lease = @lease AND status IN ('assigned', 'running')`,
    ),

    graphRow: q<[string], GraphRow>(`SELECT status, json_extract(error, '$.code') AS error_code FROM tasks WHERE id = ?`),
    dependentsOf: pluck<[string], string>(
      `SELECT d.task_id FROM deps d JOIN tasks t ON t.id = d.task_id WHERE d.dep_id = ? ORDER BY t.seq`,
    ),
    depsOf: pluck<[string], string>(`SELECT dep_id FROM deps WHERE task_id = ?`),
    expired: q<[number], InFlightRow>(
      `SELECT id, lease, node, worker, lease_expires_at FROM tasks
       WHERE lease IS NOT NULL AND lease_expires_at <= ? ORDER BY lease_expires_at, seq`,
    ),
    inFlight: q<[], InFlightRow>(`SELECT id, lease, node, worker, lease_expires_at FROM tasks WHERE lease IS NOT NULL ORDER BY seq`),
    inFlightOf: q<[string], InFlightRow>(
      `SELECT id, lease, node, worker, lease_expires_at FROM tasks WHERE lease IS NOT NULL AND node = ? ORDER BY seq`,
    ),

    readyTasks: q<[number], RawTaskRow>(
      `SELECT * FROM tasks INDEXED BY tasks_ready WHERE status = 'ready' ORDER BY priority DESC, seq LIMIT ?`,
    ),
    allTasks: q<[], RawTaskRow>(`SELECT * FROM tasks ORDER BY seq`),
    allEdges: q<[], { dep_id: string; task_id: string }>(
      `SELECT d.dep_id, d.task_id FROM deps d JOIN tasks t ON t.id = d.task_id ORDER BY t.seq`,
    ),
    allAttempts: q<[], RawAttemptRow>(`SELECT * FROM attempts ORDER BY task_id, attempt`),
    attemptsOf: q<[string], RawAttemptRow>(`SELECT * FROM attempts WHERE task_id = ? ORDER BY attempt`),
    allReleases: q<[], RawReleaseRow>(`SELECT * FROM releases ORDER BY task_id, seq`),
    releasesOf: q<[string], RawReleaseRow>(`SELECT * FROM releases WHERE task_id = ? ORDER BY seq`),
    counts: q<[], { status: string; n: number }>(`SELECT status, COUNT(*) AS n FROM tasks GROUP BY status`),
    unsettled: pluck<[], number>(
      `SELECT EXISTS (SELECT 1 FROM tasks WHERE status IN ('pending', 'ready', 'assigned', 'running', 'failed'))`,
    ),
    nextRetry: pluck<[], number | null>(`SELECT MIN(ready_at) FROM tasks WHERE status = 'failed'`),
    nextExpiry: pluck<[], number | null>(`SELECT MIN(lease_expires_at) FROM tasks WHERE lease IS NOT NULL`),
    eventsAfter: q<[number, number], RawEventRow>(`SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?`),
  };
}

/** The prepared statements of one connection. */
export type SqliteStatements = ReturnType<typeof prepareSqliteStatements>;
