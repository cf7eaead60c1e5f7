/**
 * The mailbox (src/mailbox/types.ts) over SQL, for SQLite and PostgreSQL alike (and for the
 * in-memory store, over a private in-memory SQLite database): each method is one operation
 * run in one transaction by its host (sql-steps.ts).
 *
 * A trigger is claimed with one conditional UPDATE (on PostgreSQL its candidate row is locked
 * `FOR UPDATE SKIP LOCKED`, so two supervisors never take the same one; SQLite's write lock
 * serialises claims anyway), and every later change is fenced by the claim's lease or by the
 * status it expects, so a supervisor that lost its claim changes nothing.
 */
import { parseErrorCode } from '../errors.js';
import { sql, type SqlHost, type SqlOperation, type SqlRow } from './sql-steps.js';
import {
  NO_LOOP,
  OPEN_TRIGGER_STATUSES,
  type LoopState,
  type Mailbox,
  type MailMessage,
  type MessageSource,
  type Override,
  type ThreadState,
  type TriggerAttempt,
  type TriggerJob,
  type TriggerJobWithAttempts,
  type TriggerPatch,
  type TriggerStatus,
  type UnreadThread,
} from '../mailbox/types.js';

const num = (value: unknown): number => Number(value);
const numOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));
const strOrNull = (value: unknown): string | null => (value === null || value === undefined ? null : String(value));
const json = (value: unknown): unknown => (value === null || value === undefined ? null : JSON.parse(String(value)));

function messageOf(row: SqlRow): MailMessage {
  return {
    taskId: String(row['task_id']), seq: num(row['seq']), at: num(row['at']), source: String(row['source']) as MessageSource,
    text: String(row['text']), meta: json(row['meta']) as Record<string, unknown> | null,
  };
}

function threadOf(row: SqlRow): ThreadState {
  return {
    taskId: String(row['task_id']), latestSeq: num(row['latest_seq']), readSeq: num(row['read_seq']), sessionId: strOrNull(row['session_id']),
    sessionAt: numOrNull(row['session_at']), loop: { ...NO_LOOP, ...(json(row['loop']) as Partial<LoopState> | null) },
    overrides: (json(row['overrides']) as Override[] | null) ?? [], updatedAt: num(row['updated_at']),
  };
}

function triggerOf(row: SqlRow): TriggerJob {
  return {
    id: num(row['id']), taskId: String(row['task_id']), uptoSeq: num(row['upto_seq']), status: String(row['status']) as TriggerStatus,
    chain: json(row['chain']), tries: num(row['tries']), failures: num(row['failures']), nextAt: num(row['next_at']),
    deferredSince: numOrNull(row['deferred_since']), lease: strOrNull(row['lease']), node: strOrNull(row['node']),
    leaseExpiresAt: numOrNull(row['lease_expires_at']), route: strOrNull(row['route']) as TriggerJob['route'],
    lastCode: strOrNull(row['last_code']), lastMessage: strOrNull(row['last_message']), createdAt: num(row['created_at']), updatedAt: num(row['updated_at']),
  };
}

function attemptOf(row: SqlRow): TriggerAttempt {
  const code = String(row['code']);
  return {
    n: num(row['n']), at: num(row['at']), node: strOrNull(row['node']), stage: String(row['stage']),
    outcome: String(row['outcome']) as TriggerAttempt['outcome'], code: code === 'OK' ? 'OK' : parseErrorCode(code), detail: strOrNull(row['detail']),
  };
}

const OPEN = OPEN_TRIGGER_STATUSES.map((s) => `'${s}'`).join(', ');

/** A {@link Mailbox} on `host`'s tables. */
export class SqlMailbox implements Mailbox {
  private readonly t: Record<'threads' | 'messages' | 'cursors' | 'triggers' | 'attempts', string>;

  constructor(private readonly host: SqlHost) {
    const p = host.prefix;
    this.t = { threads: `${p}threads`, messages: `${p}messages`, cursors: `${p}cursors`, triggers: `${p}triggers`, attempts: `${p}trigger_attempts` };
  }

  post(taskId: string, message: { source: MessageSource; text: string; meta?: Record<string, unknown> | null }, now: number): Promise<MailMessage> {
    const { t } = this;
    return this.host.run(function* () {
      yield* ensureThread(t.threads, taskId, now);
      const [row] = yield* sql(`UPDATE ${t.threads} SET latest_seq = latest_seq + 1, updated_at = ? WHERE task_id = ? RETURNING latest_seq`, now, taskId);
      const seq = num(row?.['latest_seq']);
      const meta = message.meta ? JSON.stringify(message.meta) : null;
      yield* sql(`INSERT INTO ${t.messages} (task_id, seq, at, source, text, meta) VALUES (?, ?, ?, ?, ?, ?)`, taskId, seq, now, message.source, message.text, meta);
      return { taskId, seq, at: now, source: message.source, text: message.text, meta: message.meta ?? null };
    }, 'write');
  }

  messages(taskId: string, afterSeq = 0): Promise<MailMessage[]> {
    const { t } = this;
    return this.host.run(function* () {
      return (yield* sql(`SELECT * FROM ${t.messages} WHERE task_id = ? AND seq > ? ORDER BY seq`, taskId, afterSeq)).map(messageOf);
    }, 'read');
  }

  thread(taskId: string): Promise<ThreadState | undefined> {
    const { t } = this;
    return this.host.run(function* () {
      const [row] = yield* sql(`SELECT * FROM ${t.threads} WHERE task_id = ?`, taskId);
      return row === undefined ? undefined : threadOf(row);
    }, 'read');
  }

  endTurn(taskId: string, turn: { sessionId: string | null; loop: LoopState }, now: number): Promise<void> {
    const { t } = this;
    return this.host.run(function* () {
      yield* ensureThread(t.threads, taskId, now);
      const [thread] = yield* sql(`SELECT session_id, read_seq FROM ${t.threads} WHERE task_id = ?`, taskId);
      let readSeq = num(thread?.['read_seq'] ?? 0);
      if (turn.sessionId !== null && turn.sessionId !== strOrNull(thread?.['session_id'])) {
        const [cursor] = yield* sql(`SELECT read_seq FROM ${t.cursors} WHERE task_id = ? AND session_id = ?`, taskId, turn.sessionId);
        readSeq = cursor === undefined ? 0 : num(cursor['read_seq']);
      }
      const session = turn.sessionId ?? strOrNull(thread?.['session_id']);
      yield* sql(`UPDATE ${t.threads} SET session_id = ?, session_at = ?, read_seq = ?, loop = ?, updated_at = ? WHERE task_id = ?`,
        session, now, readSeq, JSON.stringify(turn.loop), now, taskId);
    }, 'write');
  }

  override(taskId: string, override: Override, now: number): Promise<void> {
    const { t } = this;
    return this.host.run(function* () {
      yield* ensureThread(t.threads, taskId, now);
      const [row] = yield* sql(`SELECT loop, overrides FROM ${t.threads} WHERE task_id = ?`, taskId);
      const overrides = [...((json(row?.['overrides']) as Override[] | null) ?? []), override];
      // The commit is kept: progress is still measured from the work the task has.
      const lastCommit = ((json(row?.['loop']) as Partial<LoopState> | null) ?? {}).lastCommit ?? null;
      yield* sql(`UPDATE ${t.threads} SET loop = ?, overrides = ?, updated_at = ? WHERE task_id = ?`,
        JSON.stringify({ ...NO_LOOP, lastCommit }), JSON.stringify(overrides), now, taskId);
    }, 'write');
  }

  markRead(taskId: string, sessionId: string | null, seq: number, now: number): Promise<void> {
    const { t, host } = this;
    // The larger of two values: a cursor never moves back.
    const keep = host.dialect === 'postgres' ? 'GREATEST' : 'MAX';
    return this.host.run(function* () {
      yield* ensureThread(t.threads, taskId, now);
      if (sessionId !== null) {
        yield* sql(`INSERT INTO ${t.cursors} AS c (task_id, session_id, read_seq, at) VALUES (?, ?, ?, ?)
          ON CONFLICT (task_id, session_id) DO UPDATE SET read_seq = ${keep}(c.read_seq, excluded.read_seq), at = excluded.at`,
          taskId, sessionId, seq, now);
      }
      yield* sql(`UPDATE ${t.threads} SET read_seq = ${keep}(read_seq, ?), session_id = COALESCE(?, session_id), updated_at = ? WHERE task_id = ?`, seq, sessionId, now, taskId);
    }, 'write');
  }

  unread(limit: number): Promise<UnreadThread[]> {
    const { t } = this;
    return this.host.run(function* () {
      const rows = yield* sql(`SELECT task_id, latest_seq, read_seq FROM ${t.threads} h WHERE latest_seq > read_seq
        AND NOT EXISTS (SELECT 1 FROM ${t.triggers} g WHERE g.task_id = h.task_id AND g.status IN (${OPEN})) ORDER BY task_id LIMIT ?`, limit);
      return rows.map((r) => ({ taskId: String(r['task_id']), latestSeq: num(r['latest_seq']), readSeq: num(r['read_seq']) }));
    }, 'read');
  }

  openTrigger(taskId: string, uptoSeq: number, chain: unknown, now: number): Promise<TriggerJob | null> {
    const { t } = this;
    return this.host.run(function* () {
      // The partial unique index (one open trigger per task) makes a second opening a no-op.
      const [row] = yield* sql(`INSERT INTO ${t.triggers} (task_id, upto_seq, status, chain, next_at, created_at, updated_at)
        VALUES (?, ?, 'pending', ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING *`, taskId, uptoSeq, JSON.stringify(chain), now, now, now);
      return row === undefined ? null : triggerOf(row);
    }, 'write');
  }

  claimTrigger(node: string, lease: string, leaseMs: number, now: number): Promise<TriggerJob | null> {
    const { t, host } = this;
    const lock = host.dialect === 'postgres' ? 'FOR UPDATE SKIP LOCKED' : '';
    return this.host.run(function* () {
      const [row] = yield* sql(`UPDATE ${t.triggers} SET status = 'claimed', lease = ?, node = ?, lease_expires_at = ?, tries = tries + 1, updated_at = ?
        WHERE id = (SELECT id FROM ${t.triggers} WHERE (status = 'pending' AND next_at <= ?) OR (status = 'claimed' AND lease_expires_at <= ?)
          ORDER BY next_at, id LIMIT 1 ${lock}) RETURNING *`, lease, node, now + leaseMs, now, now, now);
      return row === undefined ? null : triggerOf(row);
    }, 'write');
  }

  updateTrigger(
    id: number,
    fence: { lease: string } | { expect: TriggerStatus },
    patch: TriggerPatch,
    attempt: Omit<TriggerAttempt, 'n'> | null,
    now: number,
  ): Promise<TriggerJob | null> {
    const { t } = this;
    return this.host.run(function* () {
      const sets: string[] = ['updated_at = ?'];
      const values: unknown[] = [now];
      const set = (column: string, value: unknown) => {
        sets.push(`${column} = ?`);
        values.push(value);
      };
      if (patch.status !== undefined) set('status', patch.status);
      if (patch.chain !== undefined) set('chain', JSON.stringify(patch.chain));
      if (patch.failures !== undefined) set('failures', patch.failures);
      if (patch.nextAt !== undefined) set('next_at', patch.nextAt);
      if (patch.deferredSince !== undefined) set('deferred_since', patch.deferredSince);
      if (patch.route !== undefined) set('route', patch.route);
      if (patch.lastCode !== undefined) set('last_code', patch.lastCode);
      if (patch.lastMessage !== undefined) set('last_message', patch.lastMessage);
      if (patch.releaseLease === true) sets.push('lease = NULL', 'lease_expires_at = NULL');
      const where = 'lease' in fence ? 'lease = ?' : 'status = ?';
      const [row] = yield* sql(`UPDATE ${t.triggers} SET ${sets.join(', ')} WHERE id = ? AND ${where} RETURNING *`,
        ...values, id, 'lease' in fence ? fence.lease : fence.expect);
      if (row === undefined) return null;
      if (attempt !== null) {
        const [last] = yield* sql(`SELECT COALESCE(MAX(n), 0) AS n FROM ${t.attempts} WHERE trigger_id = ?`, id);
        yield* sql(`INSERT INTO ${t.attempts} (trigger_id, n, at, node, stage, outcome, code, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
          id, num(last?.['n'] ?? 0) + 1, attempt.at, attempt.node, attempt.stage, attempt.outcome, attempt.code, attempt.detail);
      }
      return triggerOf(row);
    }, 'write');
  }

  openTriggerOf(taskId: string): Promise<TriggerJob | undefined> {
    const { t } = this;
    return this.host.run(function* () {
      const [row] = yield* sql(`SELECT * FROM ${t.triggers} WHERE task_id = ? AND status IN (${OPEN})`, taskId);
      return row === undefined ? undefined : triggerOf(row);
    }, 'read');
  }

  triggers(taskId: string): Promise<TriggerJobWithAttempts[]> {
    const { t } = this;
    return this.host.run(function* () {
      const jobs = (yield* sql(`SELECT * FROM ${t.triggers} WHERE task_id = ? ORDER BY id`, taskId)).map(triggerOf);
      if (jobs.length === 0) return [];
      const attempts = (yield* sql(`SELECT a.* FROM ${t.attempts} a JOIN ${t.triggers} g ON g.id = a.trigger_id WHERE g.task_id = ? ORDER BY a.trigger_id, a.n`, taskId));
      return jobs.map((job) => ({ ...job, attempts: attempts.filter((a) => num(a['trigger_id']) === job.id).map(attemptOf) }));
    }, 'read');
  }

  awaiting(): Promise<TriggerJob[]> {
    const { t } = this;
    return this.host.run(function* () {
      return (yield* sql(`SELECT * FROM ${t.triggers} WHERE status = 'awaiting' ORDER BY id`)).map(triggerOf);
    }, 'read');
  }

  nextTriggerDueMs(now: number): Promise<number | null> {
    const { t } = this;
    return this.host.run(function* () {
      const [row] = yield* sql(`SELECT MIN(CASE WHEN status = 'pending' THEN next_at ELSE lease_expires_at END) AS due FROM ${t.triggers} WHERE status IN ('pending', 'claimed')`);
      const due = numOrNull(row?.['due']);
      return due === null ? null : Math.max(0, due - now);
    }, 'read');
  }

  triggerCounts(): Promise<Record<TriggerStatus, number>> {
    const { t } = this;
    return this.host.run(function* () {
      const counts: Record<TriggerStatus, number> = { pending: 0, claimed: 0, awaiting: 0, delivered: 0, dead: 0 };
      for (const row of yield* sql(`SELECT status, COUNT(*) AS n FROM ${t.triggers} GROUP BY status`)) counts[String(row['status']) as TriggerStatus] = num(row['n']);
      return counts;
    }, 'read');
  }
}

function* ensureThread(table: string, taskId: string, now: number): SqlOperation<void> {
  yield* sql(`INSERT INTO ${table} (task_id, updated_at) VALUES (?, ?) ON CONFLICT (task_id) DO NOTHING`, taskId, now);
}
