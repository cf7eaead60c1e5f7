/**
 * Every statement the SQLite store runs, prepared once per connection. Readiness follows the
 * lifecycle's rules: `ready` tasks due by now (`ready_at <= now`, see `isDispatchable`) in
 * (priority desc, seq) order through a partial index, and a task is in flight exactly when
 * `lease IS NOT NULL`. The graph walks read the subgraph they need with recursive queries; a
 * plan's writes go back row by row (the mutable columns of a task, whole attempt and release
 * rows).
 */
import type Database from 'better-sqlite3';
import type { RawEventRow, RawTaskRow, attemptParams, eventParams, newTaskParams, releaseParams, taskStateParams } from './sqlite-rows.js';
import type { RawAttemptRow, RawReleaseRow } from './row-codec.js';

/** `needs ⊆ @caps`, both JSON arrays; the common no-needs case skips the subquery. */
const SERVABLE = `(needs = '[]' OR NOT EXISTS (
  SELECT 1 FROM json_each(tasks.needs) AS n WHERE n.value NOT IN (SELECT value FROM json_each(@caps))))`;

const TERMINAL = `('complete', 'dead', 'blocked', 'cancelled')`;

/** The columns a task's life changes, as `SET` assignments from the named parameters of `taskStateParams`. */
const SET_STATE = `status = @status, unmet_deps = @unmetDeps, ready_at = @readyAt, releases = @releases,
  crash_releases = @crashReleases, rate_limit_waits = @rateLimitWaits, attempt_count = @attemptCount,
  attempt_base = @attemptBase, lease = @lease, lease_expires_at = @leaseExpiresAt, worker = @worker, node = @node,
  started_at = @startedAt, finished_at = @finishedAt, exit_code = @exitCode, result = @result, commit_sha = @commit, error = @error`;

/** A row of an in-flight task. */
export interface InFlightRow {
  id: string;
  lease: string;
  node: string | null;
  worker: string | null;
  lease_expires_at: number | null;
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
    // ── what operations read ──
    taskById: q<[string], RawTaskRow>(`SELECT * FROM tasks WHERE id = ?`),
    fenced: q<{ id: string; lease: string }, RawTaskRow>(
      `SELECT * FROM tasks WHERE id = @id AND lease = @lease AND status IN ('assigned', 'running')`,
    ),
    tasksByIds: q<[string], RawTaskRow>(`SELECT * FROM tasks WHERE id IN (SELECT value FROM json_each(?)) ORDER BY seq`),
    maxSeq: pluck<[], number>(`SELECT COALESCE(MAX(seq), 0) FROM tasks`),
    holding: q<[string], RawTaskRow>(
      `SELECT * FROM tasks WHERE lease IN (SELECT value FROM json_each(?)) AND status IN ('assigned', 'running')`,
    ),
    heldBy: q<[string], RawTaskRow>(`SELECT * FROM tasks WHERE lease IS NOT NULL AND node = ? ORDER BY seq`),
    expired: q<[number], RawTaskRow>(
      `SELECT * FROM tasks WHERE lease IS NOT NULL AND lease_expires_at <= ? ORDER BY lease_expires_at, seq`,
    ),
    // INDEXED BY: without statistics the planner prefers tasks_status and sorts every ready
    // task per claim; the partial indexes give the order (or the due retries) directly.
    due: q<[number], RawTaskRow>(`SELECT * FROM tasks INDEXED BY tasks_due WHERE status = 'failed' AND ready_at <= ?`),
    // A deferred task is ready but not due: the walk passes over it (a cost only while many
    // deferred tasks sit ahead of the due ones, i.e. while a rate limit holds them back).
    pickBest: q<{ caps: string; now: number }, RawTaskRow>(
      `SELECT * FROM tasks INDEXED BY tasks_ready WHERE status = 'ready' AND ready_at <= @now AND ${SERVABLE}
       ORDER BY priority DESC, seq LIMIT 1`,
    ),
    pickExact: q<{ caps: string; id: string; now: number }, RawTaskRow>(
      `SELECT * FROM tasks WHERE id = @id AND status = 'ready' AND ready_at <= @now AND ${SERVABLE}`,
    ),
    dependentRows: q<[string], RawTaskRow>(
      `SELECT t.* FROM deps d JOIN tasks t ON t.id = d.task_id WHERE d.dep_id = ? ORDER BY t.seq`,
    ),
    // Blocking walks through tasks not terminal; what it reaches beyond them it leaves alone.
    blockReach: q<[string], RawTaskRow>(`WITH RECURSIVE reach(id) AS (
        SELECT value FROM json_each(?)
        UNION
        SELECT d.task_id FROM deps d JOIN reach r ON d.dep_id = r.id JOIN tasks t ON t.id = d.task_id
        WHERE t.status NOT IN ${TERMINAL})
      SELECT t.* FROM tasks t WHERE t.id IN (SELECT id FROM reach)`),
    // Unblocking walks on only through the tasks it revives, all of them blocked.
    unblockReach: q<[string], RawTaskRow>(`WITH RECURSIVE down(id) AS (
        SELECT task_id FROM deps WHERE dep_id = ?
        UNION
        SELECT d.task_id FROM deps d JOIN down ON d.dep_id = down.id JOIN tasks t ON t.id = down.id
        WHERE t.status = 'blocked')
      SELECT t.* FROM tasks t WHERE t.id IN (SELECT id FROM down)`),
    depRows: q<[string], RawTaskRow>(
      `SELECT * FROM tasks WHERE id IN (SELECT dep_id FROM deps WHERE task_id IN (SELECT value FROM json_each(?)))`,
    ),
    edgesFrom: q<[string], { dep_id: string; task_id: string }>(
      `SELECT d.dep_id, d.task_id FROM deps d JOIN tasks t ON t.id = d.task_id
       WHERE d.dep_id IN (SELECT value FROM json_each(?)) ORDER BY t.seq`,
    ),

    // ── what operations write ──
    insertTask: q<ReturnType<typeof newTaskParams>>(`INSERT INTO tasks (id, seq, spec, priority, needs, status, unmet_deps,
        ready_at, releases, crash_releases, rate_limit_waits, attempt_count, attempt_base, lease, lease_expires_at, worker, node,
        started_at, finished_at, exit_code, result, commit_sha, error)
      VALUES (@id, @seq, @spec, @priority, @needs, @status, @unmetDeps, @readyAt, @releases, @crashReleases, @rateLimitWaits,
        @attemptCount, @attemptBase, @lease, @leaseExpiresAt, @worker, @node, @startedAt, @finishedAt, @exitCode, @result, @commit,
        @error)`),
    insertDep: q<[string, string]>(`INSERT OR IGNORE INTO deps (task_id, dep_id) VALUES (?, ?)`),
    updateTask: q<ReturnType<typeof taskStateParams>>(`UPDATE tasks SET ${SET_STATE} WHERE id = @id`),
    putAttempt: q<ReturnType<typeof attemptParams>>(`INSERT OR REPLACE INTO attempts
        (task_id, attempt, node, worker, lease, assigned_at, started_at, finished_at, exit_code, code, message, agent_session, agent_usage)
      VALUES (@taskId, @attempt, @node, @worker, @lease, @assignedAt, @startedAt, @finishedAt, @exitCode, @code, @message, @session,
        @usage)`),
    deleteAttempt: q<{ taskId: string; attempt: number }>(`DELETE FROM attempts WHERE task_id = @taskId AND attempt = @attempt`),
    insertRelease: q<ReturnType<typeof releaseParams>>(`INSERT INTO releases
        (task_id, seq, attempt, node, worker, lease, assigned_at, started_at, released_at, reason, crash, agent_session, agent_usage)
      VALUES (@taskId, @seq, @attempt, @node, @worker, @lease, @assignedAt, @startedAt, @releasedAt, @reason, @crash, @session,
        @usage)`),
    insertEvent: q<ReturnType<typeof eventParams>>(
      `INSERT INTO events (at, type, task_id, node_id, data) VALUES (@at, @type, @taskId, @nodeId, @data)`,
    ),

    // ── what the store answers its callers with ──
    dependentsOf: pluck<[string], string>(
      `SELECT d.task_id FROM deps d JOIN tasks t ON t.id = d.task_id WHERE d.dep_id = ? ORDER BY t.seq`,
    ),
    attemptsOf: q<[string], RawAttemptRow>(`SELECT * FROM attempts WHERE task_id = ? ORDER BY attempt`),
    releasesOf: q<[string], RawReleaseRow>(`SELECT * FROM releases WHERE task_id = ? ORDER BY seq`),
    inFlight: q<[], InFlightRow>(`SELECT id, lease, node, worker, lease_expires_at FROM tasks WHERE lease IS NOT NULL ORDER BY seq`),
    inFlightOf: q<[string], InFlightRow>(
      `SELECT id, lease, node, worker, lease_expires_at FROM tasks WHERE lease IS NOT NULL AND node = ? ORDER BY seq`,
    ),
    readyTasks: q<[number, number], RawTaskRow>(
      `SELECT * FROM tasks INDEXED BY tasks_ready WHERE status = 'ready' AND ready_at <= ? ORDER BY priority DESC, seq LIMIT ?`,
    ),
    allTasks: q<[], RawTaskRow>(`SELECT * FROM tasks ORDER BY seq`),
    allEdges: q<[], { dep_id: string; task_id: string }>(
      `SELECT d.dep_id, d.task_id FROM deps d JOIN tasks t ON t.id = d.task_id ORDER BY t.seq`,
    ),
    allAttempts: q<[], RawAttemptRow>(`SELECT * FROM attempts ORDER BY task_id, attempt`),
    allReleases: q<[], RawReleaseRow>(`SELECT * FROM releases ORDER BY task_id, seq`),
    counts: q<[], { status: string; n: number }>(`SELECT status, COUNT(*) AS n FROM tasks GROUP BY status`),
    unsettled: pluck<[], number>(
      `SELECT EXISTS (SELECT 1 FROM tasks WHERE status IN ('pending', 'ready', 'assigned', 'running', 'failed'))`,
    ),
    nextRetry: pluck<[], number | null>(`SELECT MIN(ready_at) FROM tasks WHERE status = 'failed'`),
    // The `ready_at > 0` term matches tasks_waiting's own, so that the partial index serves.
    nextWaiting: pluck<[number], number | null>(
      `SELECT MIN(ready_at) FROM tasks INDEXED BY tasks_waiting WHERE status = 'ready' AND ready_at > 0 AND ready_at > ?`,
    ),
    nextExpiry: pluck<[], number | null>(`SELECT MIN(lease_expires_at) FROM tasks WHERE lease IS NOT NULL`),
    eventsAfter: q<[number, number], RawEventRow>(`SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?`),
    eventsLatest: q<[number], RawEventRow>(`SELECT * FROM events ORDER BY id DESC LIMIT ?`),
  };
}

/** The prepared statements of one connection. */
export type SqliteStatements = ReturnType<typeof prepareSqliteStatements>;
