/**
 * Every statement the PostgreSQL store runs, for one schema. Claims pick with
 * `FOR UPDATE SKIP LOCKED`: a row another transaction is claiming is passed over rather than
 * waited for, so concurrent claimers take different tasks without queueing behind each
 * other. Multi-row updates lock their rows in id order first, so two transactions touching
 * the same dependents cannot deadlock (the transaction helper retries if one ever does).
 */
import { quoteIdent } from './postgres-schema.js';

const IN_FLIGHT = `('assigned', 'running')`;
const TERMINAL = `('complete', 'dead', 'blocked', 'cancelled')`;

/** The statements for `schema`. */
export function postgresSql(schema: string) {
  const s = quoteIdent(schema);
  const tasks = `${s}.tasks`;
  const deps = `${s}.deps`;
  const attempts = `${s}.attempts`;
  const releases = `${s}.releases`;
  const events = `${s}.events`;
  /** Assigns the task `pick` selects: $1 capabilities, $2 lease, $3 expiry, $4 worker, $5 node. */
  const claim = (pick: string): string => `WITH picked AS (${pick})
      UPDATE ${tasks} t SET status = 'assigned', lease = $2, lease_expires_at = $3, worker = $4, node = $5,
        attempt_count = t.attempt_count + 1
      FROM picked WHERE t.id = picked.id
      RETURNING t.id, t.attempt_count`;
  return {
    submitLock: `SELECT pg_advisory_xact_lock(hashtext($1))`,
    // After a large submission: fresh statistics, or the planner (believing the table tiny)
    // sorts every ready task per claim instead of walking tasks_ready in order.
    analyze: `ANALYZE ${tasks}, ${deps}`,
    // FOR SHARE: a dependency completing or dying concurrently waits for this submission (or
    // this one for it), so its walk over `deps` sees the new edges or this one sees its status.
    knownTasks: `SELECT id, spec, status FROM ${tasks} WHERE id = ANY($1::text[]) FOR SHARE`,
    maxSeq: `SELECT COALESCE(MAX(seq), 0)::bigint AS seq FROM ${tasks}`,
    insertTasks: `INSERT INTO ${tasks} (id, seq, spec, priority, needs, status, unmet_deps, error, finished_at)
      SELECT t.id, t.seq, t.spec::json, t.priority, ARRAY(SELECT json_array_elements_text(t.needs::json)), t.status,
        t.unmet_deps, t.error::json, t.finished_at
      FROM unnest($1::text[], $2::bigint[], $3::text[], $4::int[], $5::text[], $6::text[], $7::int[], $8::text[], $9::text[])
        AS t(id, seq, spec, priority, needs, status, unmet_deps, error, finished_at)`,
    insertDeps: `INSERT INTO ${deps} (task_id, dep_id) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING`,
    // Appends events in order and, when $8, notifies channel $6 (delivered at commit).
    writeEvents: `WITH written AS (
        INSERT INTO ${events} (at, type, task_id, node_id, data)
        SELECT e.at, e.type, e.task_id, e.node_id, e.data::json
        FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY
          AS e(at, type, task_id, node_id, data, n)
        ORDER BY e.n
        RETURNING 1)
      SELECT pg_notify($6, $7) WHERE $8::boolean`,

    promoteDue: `UPDATE ${tasks} SET status = 'ready' WHERE id IN (
      SELECT id FROM ${tasks} WHERE status = 'failed' AND ready_at <= $1 FOR UPDATE SKIP LOCKED)`,
    claimBest: claim(`SELECT id FROM ${tasks} WHERE status = 'ready' AND needs <@ $1::text[]
      ORDER BY priority DESC, seq LIMIT 1 FOR UPDATE SKIP LOCKED`),
    claimExact: claim(`SELECT id FROM ${tasks} WHERE id = $6 AND status = 'ready' AND needs <@ $1::text[]
      FOR UPDATE SKIP LOCKED`),
    insertAttempt: `INSERT INTO ${attempts} (task_id, attempt, node, worker, lease, assigned_at) VALUES ($1, $2, $3, $4, $5, $6)`,
    // A lost claim (the server crashing within ~0.6 s of it) is safe to lose: the task is ready
    // again and the claimer's later reports are fenced off, i.e. at-least-once execution. So
    // claims, starts and heartbeats skip the WAL flush (~3 ms a commit on ordinary disks);
    // verdicts (complete, fail, release, block, cancel, redrive, submit) keep it.
    relaxCommit: `SELECT set_config('synchronous_commit', 'off', true)`,

    fenced: `SELECT * FROM ${tasks} WHERE id = $1 AND lease = $2 AND status IN ${IN_FLIGHT} FOR UPDATE`,
    lockTask: `SELECT * FROM ${tasks} WHERE id = $1 FOR UPDATE`,
    markRunning: `UPDATE ${tasks} SET status = 'running', started_at = COALESCE(started_at, $2) WHERE id = $1`,
    startAttempt: `UPDATE ${attempts} SET started_at = $3 WHERE task_id = $1 AND attempt = $2`,
    closeAttempt: `UPDATE ${attempts} SET finished_at = $3, exit_code = $4, code = $5, message = $6
      WHERE task_id = $1 AND attempt = $2`,
    deleteAttempt: `DELETE FROM ${attempts} WHERE task_id = $1 AND attempt = $2`,
    // Before the task's `releases` is counted: the new row's seq is the count after it.
    recordRelease: `INSERT INTO ${releases} (task_id, seq, attempt, node, worker, lease, assigned_at, started_at, released_at, reason, crash)
      SELECT a.task_id, t.releases + 1, a.attempt, a.node, a.worker, a.lease, a.assigned_at, a.started_at, $3, $4, $5
      FROM ${attempts} a JOIN ${tasks} t ON t.id = a.task_id WHERE a.task_id = $1 AND a.attempt = $2`,
    completeTask: `UPDATE ${tasks} SET status = 'complete', lease = NULL, lease_expires_at = NULL, finished_at = $2,
      exit_code = $3, result = $4::json, commit_sha = $5, error = NULL WHERE id = $1`,
    // SET expressions read the old row: old unmet_deps 1 means the last one just completed.
    unlockDependents: `WITH locked AS (
        SELECT id FROM ${tasks} WHERE id IN (SELECT task_id FROM ${deps} WHERE dep_id = $1) ORDER BY id FOR UPDATE)
      UPDATE ${tasks} t SET unmet_deps = GREATEST(0, t.unmet_deps - 1),
        status = CASE WHEN t.status = 'pending' AND t.unmet_deps <= 1 THEN 'ready' ELSE t.status END
      FROM locked WHERE t.id = locked.id`,
    retryTask: `UPDATE ${tasks} SET status = $2, lease = NULL, lease_expires_at = NULL, exit_code = $3, error = $4::json,
      worker = NULL, node = NULL, ready_at = $5 WHERE id = $1`,
    deadTask: `UPDATE ${tasks} SET status = 'dead', lease = NULL, lease_expires_at = NULL, exit_code = $2, error = $3::json,
      finished_at = $4 WHERE id = $1`,
    // As the queue's endTask: an open attempt is closed with the error and its lease revoked.
    endTasks: `WITH locked AS (
        SELECT id, lease, attempt_count FROM ${tasks} WHERE id = ANY($1::text[]) AND status NOT IN ${TERMINAL}
        ORDER BY id FOR UPDATE),
      closed AS (
        UPDATE ${attempts} a SET finished_at = $4, code = $5, message = $6
        FROM locked l WHERE l.lease IS NOT NULL AND a.task_id = l.id AND a.attempt = l.attempt_count)
      UPDATE ${tasks} t SET status = $2, error = $3::json, finished_at = $4, lease = NULL, lease_expires_at = NULL
      FROM locked l WHERE t.id = l.id RETURNING t.id`,
    releaseTask: `UPDATE ${tasks} SET status = 'ready', attempt_count = attempt_count - 1, releases = releases + 1,
      crash_releases = crash_releases + $2,
      started_at = (SELECT started_at FROM ${attempts} WHERE task_id = $1 AND attempt = 1),
      lease = NULL, lease_expires_at = NULL, worker = NULL, node = NULL, ready_at = 0 WHERE id = $1`,
    // A crash-release that spent the budget: taken back as releaseTask does, but dead.
    releaseDead: `UPDATE ${tasks} SET status = 'dead', attempt_count = attempt_count - 1, releases = releases + 1,
      crash_releases = crash_releases + 1,
      started_at = (SELECT started_at FROM ${attempts} WHERE task_id = $1 AND attempt = 1),
      lease = NULL, lease_expires_at = NULL, worker = NULL, node = NULL, error = $2::json, finished_at = $3 WHERE id = $1`,
    redriveTask: `UPDATE ${tasks} SET status = 'ready', attempt_base = attempt_count, crash_releases = 0, error = NULL, exit_code = NULL,
      finished_at = NULL, ready_at = 0 WHERE id = $1`,
    reviveTasks: `WITH locked AS (
        SELECT id FROM ${tasks} WHERE id = ANY($1::text[]) AND status = 'blocked' ORDER BY id FOR UPDATE)
      UPDATE ${tasks} t SET status = CASE WHEN t.unmet_deps = 0 THEN 'ready' ELSE 'pending' END, error = NULL,
        finished_at = NULL
      FROM locked WHERE t.id = locked.id RETURNING t.id`,
    extendLeases: `UPDATE ${tasks} SET lease_expires_at = $2 WHERE lease = ANY($1::text[]) AND status IN ${IN_FLIGHT}`,

    // The graph walks' views: the affected subgraph read in a few statements, however large.
    blockReach: `WITH RECURSIVE reach(id) AS (
        SELECT unnest($1::text[])
        UNION
        SELECT d.task_id FROM ${deps} d JOIN reach r ON d.dep_id = r.id
          JOIN ${tasks} t ON t.id = d.task_id WHERE t.status NOT IN ${TERMINAL})
      SELECT t.id, t.status, t.error->>'code' AS error_code FROM ${tasks} t JOIN reach r ON r.id = t.id`,
    fullReach: `WITH RECURSIVE reach(id) AS (
        SELECT unnest($1::text[])
        UNION
        SELECT d.task_id FROM ${deps} d JOIN reach r ON d.dep_id = r.id)
      SELECT t.id, t.status, t.error->>'code' AS error_code FROM ${tasks} t JOIN reach r ON r.id = t.id`,
    dependentsOfMany: `SELECT d.dep_id, d.task_id FROM ${deps} d JOIN ${tasks} t ON t.id = d.task_id
      WHERE d.dep_id = ANY($1::text[]) ORDER BY t.seq`,
    depsOfMany: `SELECT d.task_id, d.dep_id, t.status FROM ${deps} d JOIN ${tasks} t ON t.id = d.dep_id
      WHERE d.task_id = ANY($1::text[])`,

    expired: `SELECT id, lease, node, worker, lease_expires_at FROM ${tasks}
      WHERE lease IS NOT NULL AND lease_expires_at <= $1 ORDER BY lease_expires_at, seq`,
    inFlight: `SELECT id, lease, node, worker, lease_expires_at FROM ${tasks}
      WHERE lease IS NOT NULL AND ($1::text IS NULL OR node = $1) ORDER BY seq`,

    // Whole records in one statement: the row, its attempts, released starts and dependents (seq order).
    recordsByIds: `SELECT t.*,
        COALESCE((SELECT json_agg(a ORDER BY a.attempt) FROM ${attempts} a WHERE a.task_id = t.id), '[]'::json) AS attempt_rows,
        COALESCE((SELECT json_agg(r ORDER BY r.seq) FROM ${releases} r WHERE r.task_id = t.id), '[]'::json) AS release_rows,
        ARRAY(SELECT d.task_id FROM ${deps} d JOIN ${tasks} t2 ON t2.id = d.task_id WHERE d.dep_id = t.id ORDER BY t2.seq)
          AS dependent_ids
      FROM ${tasks} t WHERE t.id = ANY($1::text[]) ORDER BY t.seq`,
    readyRecords: `SELECT t.*,
        COALESCE((SELECT json_agg(a ORDER BY a.attempt) FROM ${attempts} a WHERE a.task_id = t.id), '[]'::json) AS attempt_rows,
        COALESCE((SELECT json_agg(r ORDER BY r.seq) FROM ${releases} r WHERE r.task_id = t.id), '[]'::json) AS release_rows,
        ARRAY(SELECT d.task_id FROM ${deps} d JOIN ${tasks} t2 ON t2.id = d.task_id WHERE d.dep_id = t.id ORDER BY t2.seq)
          AS dependent_ids
      FROM ${tasks} t WHERE t.status = 'ready' ORDER BY t.priority DESC, t.seq LIMIT $1`,
    allTasks: `SELECT * FROM ${tasks} ORDER BY seq`,
    allEdges: `SELECT d.dep_id, d.task_id FROM ${deps} d JOIN ${tasks} t ON t.id = d.task_id ORDER BY t.seq`,
    allAttempts: `SELECT * FROM ${attempts} ORDER BY task_id, attempt`,
    allReleases: `SELECT * FROM ${releases} ORDER BY task_id, seq`,
    counts: `SELECT status, COUNT(*)::int AS n FROM ${tasks} GROUP BY status`,
    unsettled: `SELECT EXISTS (SELECT 1 FROM ${tasks} WHERE status IN ('pending', 'ready', 'assigned', 'running', 'failed')) AS busy`,
    nextDue: `SELECT (SELECT MIN(ready_at) FROM ${tasks} WHERE status = 'failed') AS retry,
      (SELECT MIN(lease_expires_at) FROM ${tasks} WHERE lease IS NOT NULL) AS expiry`,
    eventsAfter: `SELECT * FROM ${events} WHERE id > $1 ORDER BY id LIMIT $2`,
  };
}

/** The statements of one schema. */
export type PostgresSql = ReturnType<typeof postgresSql>;
