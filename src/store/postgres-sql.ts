/**
 * Every statement the PostgreSQL store runs, for one schema. An operation reads what it
 * decides on and locks it (`FOR UPDATE`, in id order for many rows, so two walks over the same
 * dependents cannot deadlock: the transaction helper retries if one ever does); claims and
 * promotions pick with `FOR UPDATE SKIP LOCKED`, so concurrent claimers pass over each other's
 * rows instead of queueing. A plan's writes go back in one statement, whatever they hold
 * ({@link PostgresSql.apply}), so every operation costs a fixed number of round trips.
 */
import {
  ATTEMPT_COLUMNS,
  ATTEMPT_KEY_COLUMNS,
  EVENT_COLUMNS,
  RELEASE_COLUMNS,
  TASK_ID_COLUMN,
  TASK_IDENTITY_COLUMNS,
  TASK_STATE_COLUMNS,
  columnArrays,
  type Column,
} from './postgres-columns.js';
import { quoteIdent } from './postgres-schema.js';
import type { TaskRow } from '../lifecycle/rows.js';
import type { Changes } from './operation.js';

/** Where NOTIFYs go and who sends them (so an instance can ignore its own). */
export interface NotifyTarget {
  channel: string;
  instanceId: string;
}

const IN_FLIGHT = `('assigned', 'running')`;
const TERMINAL = `('complete', 'dead', 'blocked', 'cancelled')`;

/** What a statement needs of a column: its name and type. */
type Columns = ReadonlyArray<Pick<Column<never>, 'name' | 'type'>>;

/** Numbers `$n` parameters in the order a statement is written. */
function parameters() {
  let n = 0;
  /**
   * `unnest($a::t1[], $b::t2[], …) AS alias(c1, c2, …)` over `columns` (the values come as one
   * array per column); `WITH ORDINALITY` adds the row number as `n`.
   */
  const unnest = (columns: Columns, alias: string, ordinality = false): string => {
    const arrays = columns.map(({ type }) => `$${++n}::${type === 'json' ? 'text' : type}[]`).join(', ');
    const names = [...columns.map(({ name }) => name), ...(ordinality ? ['n'] : [])].join(', ');
    return `unnest(${arrays})${ordinality ? ' WITH ORDINALITY' : ''} AS ${alias}(${names})`;
  };
  const next = (): string => `$${++n}`;
  return { unnest, next };
}

/** `alias.column` cast to its column's type (JSON travels as text). */
const value = (alias: string, { name, type }: Columns[number]): string => `${alias}.${name}${type === 'json' ? '::json' : ''}`;

/** A task row with its attempts (by number), for the reads that may close or move one. */
const withAttempts = (attempts: string) =>
  `t.*, COALESCE((SELECT json_agg(a ORDER BY a.attempt) FROM ${attempts} a WHERE a.task_id = t.id), '[]'::json) AS attempt_rows`;

/** The statements for `schema`. */
export function postgresSql(schema: string) {
  const s = quoteIdent(schema);
  const tasks = `${s}.tasks`;
  const deps = `${s}.deps`;
  const attempts = `${s}.attempts`;
  const releases = `${s}.releases`;
  const events = `${s}.events`;
  const records = `SELECT t.*,
        COALESCE((SELECT json_agg(a ORDER BY a.attempt) FROM ${attempts} a WHERE a.task_id = t.id), '[]'::json) AS attempt_rows,
        COALESCE((SELECT json_agg(r ORDER BY r.seq) FROM ${releases} r WHERE r.task_id = t.id), '[]'::json) AS release_rows,
        ARRAY(SELECT d.task_id FROM ${deps} d JOIN ${tasks} t2 ON t2.id = d.task_id WHERE d.dep_id = t.id ORDER BY t2.seq)
          AS dependent_ids
      FROM ${tasks} t`;
  return {
    // ── what operations read ──
    // Submissions are serialised (seq order, and two submitting the same new id at once).
    submitLock: `SELECT pg_advisory_xact_lock(hashtext($1))`,
    // FOR SHARE: a dependency completing or dying concurrently waits for this submission (or
    // this one for it), so its walk over `deps` sees the new edges or this one sees its status.
    named: `SELECT * FROM ${tasks} WHERE id = ANY($1::text[]) ORDER BY id FOR SHARE`,
    maxSeq: `SELECT COALESCE(MAX(seq), 0)::bigint AS seq FROM ${tasks}`,
    lockTask: `SELECT ${withAttempts(attempts)} FROM ${tasks} t WHERE t.id = $1 FOR UPDATE OF t`,
    fenced: `SELECT ${withAttempts(attempts)} FROM ${tasks} t WHERE t.id = $1 AND t.lease = $2 AND t.status IN ${IN_FLIGHT}
      FOR UPDATE OF t`,
    holding: `SELECT * FROM ${tasks} WHERE lease = ANY($1::text[]) AND status IN ${IN_FLIGHT} ORDER BY id FOR UPDATE`,
    heldBy: `SELECT ${withAttempts(attempts)} FROM ${tasks} t WHERE t.lease IS NOT NULL AND t.node = $1 ORDER BY t.seq
      FOR UPDATE OF t`,
    expired: `SELECT ${withAttempts(attempts)} FROM ${tasks} t WHERE t.lease IS NOT NULL AND t.lease_expires_at <= $1
      ORDER BY t.lease_expires_at, t.seq FOR UPDATE OF t`,
    due: `SELECT * FROM ${tasks} WHERE status = 'failed' AND ready_at <= $1 FOR UPDATE SKIP LOCKED`,
    // A deferred task is ready but not due ($2: now): the walk passes over it, as in SQLite.
    pickBest: `SELECT * FROM ${tasks} WHERE status = 'ready' AND ready_at <= $2 AND needs <@ $1::text[]
      ORDER BY priority DESC, seq LIMIT 1 FOR UPDATE SKIP LOCKED`,
    pickExact: `SELECT * FROM ${tasks} WHERE id = $3 AND status = 'ready' AND ready_at <= $2 AND needs <@ $1::text[]
      FOR UPDATE SKIP LOCKED`,
    dependentRows: `SELECT * FROM ${tasks} WHERE id IN (SELECT task_id FROM ${deps} WHERE dep_id = $1) ORDER BY id FOR UPDATE`,
    // Blocking walks through tasks not terminal; what it reaches beyond them it leaves alone.
    blockReach: `WITH RECURSIVE reach(id) AS (
        SELECT unnest($1::text[])
        UNION
        SELECT d.task_id FROM ${deps} d JOIN reach r ON d.dep_id = r.id
          JOIN ${tasks} t ON t.id = d.task_id WHERE t.status NOT IN ${TERMINAL})
      SELECT t.* FROM ${tasks} t WHERE t.id IN (SELECT id FROM reach) ORDER BY t.id FOR UPDATE OF t`,
    // Unblocking walks on only through the tasks it revives, all of them blocked.
    unblockReach: `WITH RECURSIVE down(id) AS (
        SELECT task_id FROM ${deps} WHERE dep_id = $1
        UNION
        SELECT d.task_id FROM ${deps} d JOIN down ON d.dep_id = down.id JOIN ${tasks} t ON t.id = down.id
          WHERE t.status = 'blocked')
      SELECT t.* FROM ${tasks} t WHERE t.id IN (SELECT id FROM down) ORDER BY t.id FOR UPDATE OF t`,
    depRows: `SELECT * FROM ${tasks} WHERE id IN (SELECT dep_id FROM ${deps} WHERE task_id = ANY($1::text[]))`,
    edgesFrom: `SELECT d.dep_id, d.task_id FROM ${deps} d JOIN ${tasks} t ON t.id = d.task_id
      WHERE d.dep_id = ANY($1::text[]) ORDER BY t.seq`,
    recordsByIds: `${records} WHERE t.id = ANY($1::text[]) ORDER BY t.seq`,
    readyRecords: `${records} WHERE t.status = 'ready' AND t.ready_at <= $1 ORDER BY t.priority DESC, t.seq LIMIT $2`,

    // ── what operations write ──
    insertTasks: insertTasks(tasks),
    insertDeps: `INSERT INTO ${deps} (task_id, dep_id) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING`,
    apply: applyStatement({ tasks, attempts, releases, events }),
    // After a large submission: fresh statistics, or the planner (believing the table tiny)
    // sorts every ready task per claim instead of walking tasks_ready in order.
    analyze: `ANALYZE ${tasks}, ${deps}`,

    // ── what the store answers its callers with ──
    inFlight: `SELECT id, lease, node, worker, lease_expires_at FROM ${tasks}
      WHERE lease IS NOT NULL AND ($1::text IS NULL OR node = $1) ORDER BY seq`,
    allTasks: `SELECT * FROM ${tasks} ORDER BY seq`,
    allEdges: `SELECT d.dep_id, d.task_id FROM ${deps} d JOIN ${tasks} t ON t.id = d.task_id ORDER BY t.seq`,
    allAttempts: `SELECT * FROM ${attempts} ORDER BY task_id, attempt`,
    allReleases: `SELECT * FROM ${releases} ORDER BY task_id, seq`,
    counts: `SELECT status, COUNT(*)::int AS n FROM ${tasks} GROUP BY status`,
    unsettled: `SELECT EXISTS (SELECT 1 FROM ${tasks} WHERE status IN ('pending', 'ready', 'assigned', 'running', 'failed')) AS busy`,
    // `ready_at > 0` repeats tasks_waiting's predicate, so the partial index serves ($1: now).
    nextDue: `SELECT (SELECT MIN(ready_at) FROM ${tasks} WHERE status = 'failed') AS retry,
      (SELECT MIN(ready_at) FROM ${tasks} WHERE status = 'ready' AND ready_at > 0 AND ready_at > $1) AS waiting,
      (SELECT MIN(lease_expires_at) FROM ${tasks} WHERE lease IS NOT NULL) AS expiry`,
    eventsAfter: `SELECT * FROM ${events} WHERE id > $1 ORDER BY id LIMIT $2`,
    eventsLatest: `SELECT * FROM ${events} ORDER BY id DESC LIMIT $1`,
  };
}

/** New tasks: {@link TASK_IDENTITY_COLUMNS}, then {@link TASK_STATE_COLUMNS}. */
function insertTasks(tasks: string): string {
  const p = parameters();
  const state = TASK_STATE_COLUMNS.map((column) => value('n', column));
  return `INSERT INTO ${tasks} (id, seq, spec, priority, needs, ${TASK_STATE_COLUMNS.map(({ name }) => name).join(', ')})
    SELECT n.id, n.seq, n.spec::json, n.priority, ARRAY(SELECT json_array_elements_text(n.needs::json)), ${state.join(', ')}
    FROM ${p.unnest([...TASK_IDENTITY_COLUMNS, ...TASK_STATE_COLUMNS], 'n')}`;
}

/**
 * A plan's writes in one statement: the changed task rows, the attempt rows dropped and put,
 * the releases, the event lines (in order), and at the end a NOTIFY to the other instances
 * (delivered at commit) and, for writes safe to lose, `synchronous_commit = off` for this
 * transaction (a claim, a start or a heartbeat skips the WAL flush, ~3 ms a commit on
 * ordinary disks). Data-modifying CTEs all run, to completion, whether or not the final
 * SELECT reads them; a plan never drops and puts the same attempt.
 *
 * Parameters, each an `unnest` of the columns named: the changed tasks ({@link TASK_ID_COLUMN},
 * {@link TASK_STATE_COLUMNS}), the dropped attempts ({@link ATTEMPT_KEY_COLUMNS}), the put
 * attempts, the releases, the events; then the channel, the sender, notify?, relaxed?.
 */
function applyStatement(t: { tasks: string; attempts: string; releases: string; events: string }): string {
  const p = parameters();
  const taskRows = p.unnest([TASK_ID_COLUMN, ...TASK_STATE_COLUMNS], 'u');
  const dropped = p.unnest(ATTEMPT_KEY_COLUMNS, 'x');
  const put = p.unnest(ATTEMPT_COLUMNS, 'a');
  const released = p.unnest(RELEASE_COLUMNS, 'r');
  const logged = p.unnest(EVENT_COLUMNS, 'e', true);
  const [channel, sender, notify, relaxed] = [p.next(), p.next(), p.next(), p.next()];
  const names = (columns: Columns): string => columns.map(({ name }) => name).join(', ');
  // Each column of an unnest, cast to its column's type: JSON travels as text, and text has no assignment cast to json.
  const values = (alias: string, columns: Columns): string => columns.map((column) => value(alias, column)).join(', ');
  return `WITH
    updated AS (
      UPDATE ${t.tasks} t SET ${TASK_STATE_COLUMNS.map((column) => `${column.name} = ${value('u', column)}`).join(', ')}
      FROM ${taskRows} WHERE t.id = u.id),
    dropped AS (
      DELETE FROM ${t.attempts} old USING ${dropped} WHERE old.task_id = x.task_id AND old.attempt = x.attempt),
    put AS (
      INSERT INTO ${t.attempts} (${names(ATTEMPT_COLUMNS)}) SELECT ${values('a', ATTEMPT_COLUMNS)} FROM ${put}
      ON CONFLICT (task_id, attempt) DO UPDATE SET ${ATTEMPT_COLUMNS.slice(ATTEMPT_KEY_COLUMNS.length).map(({ name }) => `${name} = excluded.${name}`).join(', ')}),
    released AS (
      INSERT INTO ${t.releases} (${names(RELEASE_COLUMNS)}) SELECT ${values('r', RELEASE_COLUMNS)} FROM ${released}),
    logged AS (
      INSERT INTO ${t.events} (${names(EVENT_COLUMNS)})
      SELECT ${values('e', EVENT_COLUMNS)} FROM ${logged} ORDER BY e.n)
    SELECT (SELECT pg_notify(${channel}, ${sender}) WHERE ${notify}::boolean) AS notified,
      (SELECT set_config('synchronous_commit', 'off', true) WHERE ${relaxed}::boolean) AS relaxed`;
}

/** The parameters of {@link insertTasks} for `rows`. */
export function insertTasksValues(rows: readonly TaskRow[]): unknown[] {
  return columnArrays(rows, [...TASK_IDENTITY_COLUMNS, ...TASK_STATE_COLUMNS]);
}

/**
 * The parameters of {@link applyStatement} for a plan's changes. The other instances hear of
 * it when the queue changed (a claim, a start or a heartbeat does not: nothing new for them).
 */
export function applyValues({ writes, events }: Changes, target: NotifyTarget): unknown[] {
  const changed = writes.added.length + writes.tasks.length > 0;
  return [
    ...columnArrays(writes.tasks, [TASK_ID_COLUMN, ...TASK_STATE_COLUMNS]),
    ...columnArrays(writes.droppedAttempts, ATTEMPT_KEY_COLUMNS),
    ...columnArrays(writes.attempts, ATTEMPT_COLUMNS),
    ...columnArrays(writes.releases, RELEASE_COLUMNS),
    ...columnArrays(events, EVENT_COLUMNS),
    target.channel,
    target.instanceId,
    changed && !writes.relaxed,
    writes.relaxed,
  ];
}

/** The statements of one schema. */
export type PostgresSql = ReturnType<typeof postgresSql>;
