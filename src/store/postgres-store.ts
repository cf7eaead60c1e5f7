/**
 * The PostgreSQL store: several supervisors on several hosts share one queue. All tables live
 * in one schema (the URL's `?schema=`, default `coord`).
 *
 * - Claims select the best ready task `FOR UPDATE SKIP LOCKED` and assign it in the same
 *   statement, inside a transaction that also records the attempt: concurrent claimers skip
 *   each other's rows instead of queueing, and never both take one task.
 * - Every other mutation locks the rows it decides on (`FOR UPDATE`), so fencing by lease
 *   holds across hosts; multi-row updates lock in id order (no deadlocks between walks).
 * - A committed change NOTIFYs the channel `<schema>_changes`; `onChange` LISTENs on a
 *   dedicated connection (see postgres-listen.ts).
 * - `tryLeadReaper` is a session advisory lock on another dedicated connection (see
 *   postgres-leader.ts).
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { LockHolder } from '../locks/file-lock.js';
import type { TaskSpec } from '../tasks/spec.js';
import { LifecycleStore } from './lifecycle-store.js';
import { runAsync, type Operation } from './operation.js';
import { ReaperLeader } from './postgres-leader.js';
import { ChangeListener } from './postgres-listen.js';
import { holdPostgresNode } from './postgres-node-lock.js';
import { readAllRecords, readRecords } from './postgres-reads.js';
import { decodePgEvent, toNumber, type PgEventRow, type PgInFlightRow } from './postgres-rows.js';
import { migratePostgres, quoteIdent, readPostgresSchemaVersion } from './postgres-schema.js';
import { SqlLedger, type CoordinationLedger } from './sql-ledger.js';
import { SqlMailbox } from './sql-mailbox.js';
import { postgresHost } from './sql-steps.js';
import type { Mailbox } from '../mailbox/types.js';
import { assertSchemaReadable } from './schema-version.js';
import { postgresSql, type NotifyTarget, type PostgresSql } from './postgres-sql.js';
import { PostgresTables } from './postgres-tables.js';
import { READ_SNAPSHOT, connectClient, inTransaction, mapPgError, queryRows } from './postgres-tx.js';
import { parseCounts } from './row-codec.js';
import { resolveStoreOptions, type StoreOptions } from './store-options.js';
import { storeNotOpen } from './store-state.js';
import type { NodeHold, StoredEvent, TaskRecord, TaskStatus, TaskStore } from './task-store.js';

/** Submissions at least this large refresh the planner's statistics (autovacuum may take a minute). */
const ANALYZE_AFTER = 500;

/** Where a {@link PostgresStore} lives. */
export interface PostgresLocation {
  /** A `postgres://` connection string without coord's own parameters. */
  connectionString: string;
  schema: string;
  /** The URL to show in messages (password masked). */
  display: string;
}

/**
 * A {@link TaskStore} in a PostgreSQL schema.
 *
 * @example
 * const store = new PostgresStore({ connectionString: 'postgres://coord@db/coord', schema: 'coord', display: 'db' });
 * await store.open();
 * if (await store.tryLeadReaper('host-a')) await store.reapExpired(Date.now());
 */
export class PostgresStore extends LifecycleStore implements TaskStore {
  readonly kind = 'postgres';
  private readonly sql: PostgresSql;
  private readonly target: NotifyTarget;
  private readonly listener: ChangeListener;
  private readonly leader: ReaperLeader;
  private pool: pg.Pool | undefined;
  /** The mailbox's tables, in the same schema. */
  readonly mailbox: Mailbox;
  /** Budget spend and merge states, in the same schema. */
  readonly ledger: CoordinationLedger;
  private readonly clientConfig: pg.ClientConfig;
  private readonly nodeHolds = new Set<() => Promise<void>>();

  constructor(
    private readonly location: PostgresLocation,
    options: StoreOptions = {},
  ) {
    super(resolveStoreOptions(options));
    this.sql = postgresSql(location.schema);
    this.mailbox = new SqlMailbox(postgresHost(`${quoteIdent(location.schema)}.`, (body) => this.tx(body), (body) => this.snapshot(body)));
    this.ledger = new SqlLedger(postgresHost(`${quoteIdent(location.schema)}.`, (body) => this.tx(body), (body) => this.snapshot(body)));
    const channel = `${location.schema}_changes`;
    const instanceId = randomUUID();
    this.target = { channel, instanceId };
    const clientConfig: pg.ClientConfig = { connectionString: location.connectionString, connectionTimeoutMillis: 10_000 };
    this.clientConfig = clientConfig;
    this.listener = new ChangeListener(clientConfig, channel, instanceId);
    this.leader = new ReaperLeader(clientConfig, `coord-reaper:${location.schema}`, location.display);
  }

  async open(): Promise<void> {
    if (this.pool !== undefined) return;
    const pool = new pg.Pool({
      connectionString: this.location.connectionString,
      max: this.options.poolSize,
      connectionTimeoutMillis: 10_000,
      // Read-only: the server refuses any write, whatever path it came by.
      ...(this.options.readOnly ? { options: '-c default_transaction_read_only=on' } : {}),
    });
    // An idle pooled connection that dies emits here; the next query reports the problem.
    pool.on('error', () => undefined);
    try {
      const client = await connectClient(pool, this.location.display);
      try {
        if (this.options.readOnly) {
          assertSchemaReadable(await readPostgresSchemaVersion(client, this.location.schema, this.location.display), this.location.display);
        } else {
          await migratePostgres(client, this.location.schema, this.location.display);
        }
      } finally {
        client.release();
      }
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw mapPgError(error, this.location.display);
    }
    this.pool = pool;
  }

  async holdNode(holder: LockHolder): Promise<NodeHold> {
    const release = await holdPostgresNode(this.clientConfig, this.location.schema, holder, this.location.display);
    this.nodeHolds.add(release);
    return {
      release: async () => {
        if (this.nodeHolds.delete(release)) await release();
      },
    };
  }

  async close(): Promise<void> {
    for (const release of [...this.nodeHolds]) await release();
    this.nodeHolds.clear();
    await this.listener.close();
    await this.leader.close();
    const pool = this.pool;
    this.pool = undefined;
    await pool?.end();
  }

  override async submit(specs: readonly TaskSpec[], now: number): Promise<string[]> {
    const added = await super.submit(specs, now);
    if (added.length >= ANALYZE_AFTER) await this.query(this.sql.analyze).catch(() => undefined);
    return added;
  }

  /** One transaction (retried from the start on a deadlock or a serialization failure). */
  protected perform<T>(operation: () => Operation<T>): Promise<T> {
    return this.tx((c) => {
      const tables = new PostgresTables(c, this.sql, this.location.schema, this.target);
      return runAsync(operation(), tables, (changes) => tables.apply(changes));
    });
  }

  async tryLeadReaper(nodeId: string): Promise<boolean> {
    this.require();
    return this.leader.tryLead(nodeId);
  }

  async get(taskId: string): Promise<TaskRecord | undefined> {
    return this.snapshot(async (c) => (await readRecords(c, this.sql.recordsByIds, [[taskId]]))[0]);
  }

  async list(): Promise<TaskRecord[]> {
    return this.snapshot((c) => readAllRecords(c, this.sql));
  }

  async counts(): Promise<Record<TaskStatus, number>> {
    return parseCounts(await this.query<{ status: string; n: number }>(this.sql.counts));
  }

  async isSettled(): Promise<boolean> {
    const [row] = await this.query<{ busy: boolean }>(this.sql.unsettled);
    return row?.busy !== true;
  }

  async inFlight(nodeId?: string): Promise<Awaited<ReturnType<TaskStore['inFlight']>>> {
    const rows = await this.query<PgInFlightRow>(this.sql.inFlight, [nodeId ?? null]);
    return rows.map((row) => ({
      taskId: row.id,
      lease: row.lease,
      nodeId: row.node ?? '',
      workerId: row.worker ?? '',
      expiresAt: toNumber(row.lease_expires_at) ?? Number.MAX_SAFE_INTEGER,
    }));
  }

  async nextDueMs(now: number): Promise<number | null> {
    const [row] = await this.query<{ retry: string | null; waiting: string | null; expiry: string | null }>(this.sql.nextDue, [now]);
    const due = [row?.retry, row?.waiting, row?.expiry].map((t) => toNumber(t ?? null)).filter((t): t is number => t !== null);
    return due.length === 0 ? null : Math.max(0, Math.min(...due) - now);
  }

  /**
   * Events after `afterId`. Ids come from a sequence, taken at insert time: a reader polling
   * while transactions commit may see id n+1 before n commits, so poll with some overlap if
   * every event matters.
   */
  async events(afterId: number, limit: number): Promise<StoredEvent[]> {
    const rows = await this.query<PgEventRow>(this.sql.eventsAfter, [afterId, Math.max(0, limit)]);
    return rows.map(decodePgEvent);
  }

  async latestEvents(limit: number): Promise<StoredEvent[]> {
    const rows = await this.query<PgEventRow>(this.sql.eventsLatest, [Math.max(0, limit)]);
    return rows.map(decodePgEvent).reverse();
  }

  onChange(listener: () => void): () => void {
    return this.listener.add(listener);
  }

  /** Resolves once `onChange` is listening (for tests that must not miss the first change). */
  async listening(): Promise<void> {
    await this.listener.ready();
  }

  private tx<T>(body: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.require(), this.location.display, body);
  }

  private snapshot<T>(body: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.require(), this.location.display, body, READ_SNAPSHOT);
  }

  private query<R extends object>(text: string, values: unknown[] = []): Promise<R[]> {
    return queryRows<R>(this.require(), this.location.display, text, values);
  }

  private require(): pg.Pool {
    if (this.pool === undefined) throw storeNotOpen('postgres', this.location.display);
    return this.pool;
  }
}
