/**
 * Every statement the SQLite store runs, prepared once per connection. Readiness follows the
 * in-memory queue: `ready` tasks in (priority desc, seq) order through a partial index, and a
 * task is in flight exactly when `lease IS NOT NULL`. Completing a task touches only its
 * dependents' rows (the `deps_dependents` index and the `unmet_deps` counter), never the graph.
 */
import type Database from 'better-sqlite3';
import type { RawAttemptRow, RawEventRow, RawTaskRow } from './sqlite-rows.js';

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

/** Prepares the statements on `db`. @internal (its inferred type cannot be named in a declaration file) */
export function prepareSqliteStatements(db: Db) {
  // Typed through `Database.Statement` so the declaration emitter can name the result.
  const prep = <P extends unknown[] | object, R = unknown>(sql: string): Database.Statement<P, R> => db.prepare<P, R>(sql);
  return {
    taskById: prep<[string], RawTaskRow>(`SELECT * FROM tasks WHERE id = ?`),
    fenced: prep<{ id: string; lease: string }, RawTaskRow>(
      `SELECT * FROM tasks WHERE id = @id AND lease = @lease AND status IN ('assigned', 'running')`,
    ),
    knownTasks: prep<[string], { id: string; spec: string; status: string }>(
      `SELECT id, spec, status FROM tasks WHERE id IN (SELECT value FROM json_each(?))`,
    ),
    maxSeq: prep<[], number>(`SELECT COALESCE(MAX(seq), 0) FROM tasks`).pluck(),
    insertTask: prep<{
      id: string; seq: number; spec: string; priority: number; needs: string; status: string;
      unmetDeps: number; error: string | null; finishedAt: string | null;
    }>(`INSERT INTO tasks (id, seq, spec, priority, needs, status, unmet_deps, error, finished_at)
        VALUES (@id, @seq, @spec, @priority, @needs, @status, @unmetDeps, @error, @finishedAt)`),
    insertDep: prep<[string, string]>(`INSERT OR IGNORE INTO deps (task_id, dep_id) VALUES (?, ?)`),
    insertEvent: prep<{ at: number; type: string; taskId: string | null; nodeId: string | null; data: string }>(
      `INSERT INTO events (at, type, task_id, node_id, data) VALUES (@at, @type, @taskId, @nodeId, @data)`,
    ),

    promoteDue: prep<[number]>(`UPDATE tasks SET status = 'ready' WHERE status = 'failed' AND ready_at <= ?`),
    pickBest: prep<{ caps: string }, { id: string }>(
      `SELECT id FROM tasks WHERE status = 'ready' AND ${SERVABLE} ORDER BY priority DESC, seq LIMIT 1`,
    ),
    pickExact: prep<{ caps: string; id: string }, { id: string }>(
      `SELECT id FROM tasks WHERE id = @id AND status = 'ready' AND ${SERVABLE}`,
    ),
    assign: prep<{ id: string; lease: string; expiresAt: number; worker: string; node: string }, { attempt_count: number }>(
      `UPDATE tasks SET status = 'assigned', lease = @lease, lease_expires_at = @expiresAt, worker = @worker,
         node = @node, attempt_count = attempt_count + 1
       WHERE id = @id RETURNING attempt_count`,
    ),
    insertAttempt: prep<{ id: string; attempt: number; node: string; worker: string; lease: string; at: string }>(
      `INSERT INTO attempts (task_id, attempt, node, worker, lease, assigned_at) VALUES (@id, @attempt, @node, @worker, @lease, @at)`,
    ),
    markRunning: prep<{ id: string; at: string }>(
      `UPDATE tasks SET status = 'running', started_at = COALESCE(started_at, @at) WHERE id = @id`,
    ),
    startAttempt: prep<{ id: string; attempt: number; at: string }>(
      `UPDATE attempts SET started_at = @at WHERE task_id = @id AND attempt = @attempt`,
    ),
    closeAttempt: prep<{
      id: string; attempt: number; at: string; exitCode: number | null; code: string | null; message: string | null;
    }>(`UPDATE attempts SET finished_at = @at, exit_code = @exitCode, code = @code, message = @message
        WHERE task_id = @id AND attempt = @attempt`),
    revokeAttempt: prep<{ id: string; attempt: number; at: string; code: string; message: string }>(
      `UPDATE attempts SET finished_at = @at, code = @code, message = @message WHERE task_id = @id AND attempt = @attempt`,
    ),
    deleteAttempt: prep<{ id: string; attempt: number }>(`DELETE FROM attempts WHERE task_id = @id AND attempt = @attempt`),

    completeTask: prep<{ id: string; at: string; exitCode: number | null; result: string | null; commit: string | null }>(
      `UPDATE tasks SET status = 'complete', lease = NULL, lease_expires_at = NULL, finished_at = @at,
         exit_code = @exitCode, result = @result, commit_sha = @commit, error = NULL
       WHERE id = @id`,
    ),
    // SET expressions read the old row: old unmet_deps 1 means the last one just completed.
    unlockDependents: prep<[string]>(
      `UPDATE tasks SET unmet_deps = MAX(0, unmet_deps - 1),
         status = CASE WHEN status = 'pending' AND unmet_deps <= 1 THEN 'ready' ELSE status END
       WHERE id IN (SELECT task_id FROM deps WHERE dep_id = ?)`,
    ),
    retryTask: prep<{ id: string; status: string; exitCode: number | null; error: string; readyAt: number }>(
      `UPDATE tasks SET status = @status, lease = NULL, lease_expires_at = NULL, exit_code = @exitCode, error = @error,
         worker = NULL, node = NULL, ready_at = @readyAt
       WHERE id = @id`,
    ),
    deadTask: prep<{ id: string; exitCode: number | null; error: string; at: string }>(
      `UPDATE tasks SET status = 'dead', lease = NULL, lease_expires_at = NULL, exit_code = @exitCode, error = @error,
         finished_at = @at
       WHERE id = @id`,
    ),
    endTask: prep<{ id: string; status: string; error: string; at: string }>(
      `UPDATE tasks SET status = @status, error = @error, finished_at = @at, lease = NULL, lease_expires_at = NULL
       WHERE id = @id`,
    ),
    releaseTask: prep<{ id: string }>(
      `UPDATE tasks SET status = 'ready', attempt_count = attempt_count - 1, releases = releases + 1,
         started_at = (SELECT started_at FROM attempts WHERE task_id = @id AND attempt = 1),
         lease = NULL, lease_expires_at = NULL, worker = NULL, node = NULL, ready_at = 0
       WHERE id = @id`,
    ),
    redriveTask: prep<[string]>(
      `UPDATE tasks SET status = 'ready', attempt_base = attempt_count, error = NULL, exit_code = NULL,
         finished_at = NULL, ready_at = 0
       WHERE id = ?`,
    ),
    reviveTask: prep<[string]>(
      `UPDATE tasks SET status = CASE WHEN unmet_deps = 0 THEN 'ready' ELSE 'pending' END, error = NULL, finished_at = NULL
       WHERE id = ?`,
    ),
    extendLease: prep<{ lease: string; expiresAt: number }>(
      `UPDATE tasks SET lease_expires_at = @expiresAt WHERE lease = @lease AND status IN ('assigned', 'running')`,
    ),

    graphRow: prep<[string], GraphRow>(`SELECT status, json_extract(error, '$.code') AS error_code FROM tasks WHERE id = ?`),
    dependentsOf: db
      .prepare<[string], string>(`SELECT d.task_id FROM deps d JOIN tasks t ON t.id = d.task_id WHERE d.dep_id = ? ORDER BY t.seq`)
      .pluck(),
    depsOf: prep<[string], string>(`SELECT dep_id FROM deps WHERE task_id = ?`).pluck(),
    expired: prep<[number], InFlightRow>(
      `SELECT id, lease, node, worker, lease_expires_at FROM tasks
       WHERE lease IS NOT NULL AND lease_expires_at <= ? ORDER BY lease_expires_at, seq`,
    ),
    inFlight: prep<[], InFlightRow>(
      `SELECT id, lease, node, worker, lease_expires_at FROM tasks WHERE lease IS NOT NULL ORDER BY seq`,
    ),
    inFlightOf: prep<[string], InFlightRow>(
      `SELECT id, lease, node, worker, lease_expires_at FROM tasks WHERE lease IS NOT NULL AND node = ? ORDER BY seq`,
    ),

    readyTasks: prep<[number], RawTaskRow>(`SELECT * FROM tasks WHERE status = 'ready' ORDER BY priority DESC, seq LIMIT ?`),
    allTasks: prep<[], RawTaskRow>(`SELECT * FROM tasks ORDER BY seq`),
    allEdges: prep<[], { dep_id: string; task_id: string }>(
      `SELECT d.dep_id, d.task_id FROM deps d JOIN tasks t ON t.id = d.task_id ORDER BY t.seq`,
    ),
    allAttempts: prep<[], RawAttemptRow>(`SELECT * FROM attempts ORDER BY task_id, attempt`),
    attemptsOf: prep<[string], RawAttemptRow>(`SELECT * FROM attempts WHERE task_id = ? ORDER BY attempt`),
    counts: prep<[], { status: string; n: number }>(`SELECT status, COUNT(*) AS n FROM tasks GROUP BY status`),
    unsettled: db
      .prepare<[], number>(
        `SELECT EXISTS (SELECT 1 FROM tasks WHERE status IN ('pending', 'ready', 'assigned', 'running', 'failed'))`,
      )
      .pluck(),
    nextRetry: prep<[], number | null>(`SELECT MIN(ready_at) FROM tasks WHERE status = 'failed'`).pluck(),
    nextExpiry: prep<[], number | null>(`SELECT MIN(lease_expires_at) FROM tasks WHERE lease IS NOT NULL`).pluck(),
    eventsAfter: prep<[number, number], RawEventRow>(`SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?`),
  };
}

/** The prepared statements of one connection. */
export type SqliteStatements = ReturnType<typeof prepareSqliteStatements>;
