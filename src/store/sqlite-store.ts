/**
 * The SQLite store: the embedded default, one WAL file in the state directory
 * (`sqlite:<state-dir>/coord.db`), through better-sqlite3.
 *
 * Every mutation is one transaction begun IMMEDIATE: it takes the database's write lock
 * before reading, so two connections (in one process or in several) can never both see a
 * task ready and both claim it; a connection finding the lock taken waits up to the busy
 * timeout. better-sqlite3 is synchronous, so within one process a transaction also runs to
 * its end without interleaving. Reads run in deferred transactions, each a consistent
 * snapshot (WAL lets them proceed while another connection writes).
 */
import type Database from 'better-sqlite3';
import { lockOrRefuse, type LockHolder } from '../locks/file-lock.js';
import { LifecycleStore } from './lifecycle-store.js';
import { runSync, type Operation } from './operation.js';
import { parseCounts } from './row-codec.js';
import { readAllRecords, readRecord } from './sqlite-reads.js';
import { decodeEvent } from './sqlite-rows.js';
import { openSqliteDatabase } from './sqlite-schema.js';
import { prepareSqliteStatements, type SqliteStatements } from './sqlite-statements.js';
import { SqliteTables } from './sqlite-tables.js';
import { resolveStoreOptions, type StoreOptions } from './store-options.js';
import { storageFault } from './storage-fault.js';
import { storeNotOpen } from './store-state.js';
import { SqlLedger, type CoordinationLedger } from './sql-ledger.js';
import { SqlMailbox } from './sql-mailbox.js';
import { sqliteHost } from './sql-steps.js';
import type { Mailbox } from '../mailbox/types.js';
import type { NodeHold, StoredEvent, TaskRecord, TaskStatus, TaskStore } from './task-store.js';

interface Connection {
  db: Database.Database;
  stmts: SqliteStatements;
  tables: SqliteTables;
}

/**
 * A {@link TaskStore} in one SQLite file. Several instances, in one process or in several,
 * may share the file.
 *
 * @example
 * const store = new SqliteStore('/var/lib/coord/coord.db');
 * await store.open();
 */
export class SqliteStore extends LifecycleStore implements TaskStore {
  readonly kind = 'sqlite';
  private connection: Connection | undefined;
  /** The mailbox's tables, in the same file. */
  readonly mailbox: Mailbox = new SqlMailbox(sqliteHost(() => this.require().db, (run) => this.faulting(run)));
  /** Budget spend and merge states, in the same file. */
  readonly ledger: CoordinationLedger = new SqlLedger(sqliteHost(() => this.require().db, (run) => this.faulting(run)));
  private readonly listeners = new Set<() => void>();
  private poll: NodeJS.Timeout | undefined;
  private dataVersion = 0;

  constructor(
    readonly path: string,
    options: StoreOptions = {},
  ) {
    super(resolveStoreOptions(options));
  }

  async open(): Promise<void> {
    if (this.connection !== undefined) return;
    const db = openSqliteDatabase(this.path, { readOnly: this.options.readOnly });
    const stmts = prepareSqliteStatements(db);
    this.connection = { db, stmts, tables: new SqliteTables(stmts) };
  }

  async close(): Promise<void> {
    this.stopPolling();
    this.listeners.clear();
    this.connection?.db.close();
    this.connection = undefined;
  }

  async holdNode(holder: LockHolder): Promise<NodeHold> {
    // The lock sits beside the database, not in it: a lock inside would block every reader.
    const lock = lockOrRefuse(`${this.path}.lock`, { ...holder, what: `the SQLite store ${this.path}` }, 'STATE_LOCKED',
      'stop that supervisor first (only one may use a SQLite store; several hosts share a PostgreSQL store)');
    return { release: async () => lock.release() };
  }

  /** One IMMEDIATE transaction: it takes the write lock before reading (see above). */
  protected async perform<T>(operation: () => Operation<T>): Promise<T> {
    return this.write(({ tables }) => runSync(operation(), tables, (changes) => tables.apply(changes)));
  }

  async tryLeadReaper(): Promise<boolean> {
    // Reaping is fenced by lease inside IMMEDIATE transactions: concurrent reapers are safe.
    return true;
  }

  async get(taskId: string): Promise<TaskRecord | undefined> {
    return this.read((c) => readRecord(c.stmts, taskId));
  }

  async list(): Promise<TaskRecord[]> {
    return this.read((c) => readAllRecords(c.stmts));
  }

  async counts(): Promise<Record<TaskStatus, number>> {
    return this.read((c) => parseCounts(c.stmts.counts.all()));
  }

  async isSettled(): Promise<boolean> {
    return this.read((c) => c.stmts.unsettled.get() === 0);
  }

  async inFlight(nodeId?: string): Promise<Awaited<ReturnType<TaskStore['inFlight']>>> {
    return this.read((c) => {
      const rows = nodeId === undefined ? c.stmts.inFlight.all() : c.stmts.inFlightOf.all(nodeId);
      return rows.map((row) => ({
        taskId: row.id,
        lease: row.lease,
        nodeId: row.node ?? '',
        workerId: row.worker ?? '',
        expiresAt: row.lease_expires_at ?? Number.MAX_SAFE_INTEGER,
      }));
    });
  }

  async nextDueMs(now: number): Promise<number | null> {
    return this.read((c) => {
      const due = [c.stmts.nextRetry.get(), c.stmts.nextWaiting.get(now), c.stmts.nextExpiry.get()].filter(
        (t): t is number => typeof t === 'number',
      );
      return due.length === 0 ? null : Math.max(0, Math.min(...due) - now);
    });
  }

  async events(afterId: number, limit: number): Promise<StoredEvent[]> {
    return this.read((c) => c.stmts.eventsAfter.all(afterId, Math.max(0, limit)).map(decodeEvent));
  }

  async latestEvents(limit: number): Promise<StoredEvent[]> {
    return this.read((c) => c.stmts.eventsLatest.all(Math.max(0, limit)).map(decodeEvent).reverse());
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    this.startPolling();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stopPolling();
    };
  }

  /**
   * `PRAGMA data_version` changes whenever another connection commits, and costs no I/O to
   * read: polling it is how a SQLite store hears about other processes' changes. The poll
   * starts every `changePollMs` and slows down, doubling up to ten times that, while nothing
   * changes; a change brings it back to full speed. So an idle supervisor wakes every 2 s
   * by default rather than five times a second, and a busy queue is still heard within 200 ms.
   */
  private startPolling(): void {
    if (this.poll !== undefined || this.connection === undefined) return;
    const { db } = this.connection;
    const fastest = this.options.changePollMs;
    const slowest = fastest * 10;
    this.dataVersion = Number(db.pragma('data_version', { simple: true }));
    const tick = (delay: number): void => {
      this.poll = setTimeout(() => {
        if (this.connection === undefined || this.poll === undefined) return;
        let version: number;
        try {
          version = Number(db.pragma('data_version', { simple: true }));
        } catch {
          // Thrown from a timer this would crash the process; instead stop polling and wake
          // the listeners once: their next store call meets the same fault and reports it.
          this.stopPolling();
          for (const listener of [...this.listeners]) listener();
          return;
        }
        const changed = version !== this.dataVersion;
        this.dataVersion = version;
        tick(changed ? fastest : Math.min(delay * 2, slowest));
        if (changed) for (const listener of [...this.listeners]) listener();
      }, delay);
      this.poll.unref();
    };
    tick(fastest);
  }

  private stopPolling(): void {
    if (this.poll !== undefined) clearTimeout(this.poll);
    this.poll = undefined;
  }

  private write<T>(body: (c: Connection) => T): T {
    const c = this.require();
    return this.faulting(() => c.db.transaction(() => body(c)).immediate());
  }

  private read<T>(body: (c: Connection) => T): T {
    const c = this.require();
    return this.faulting(() => c.db.transaction(() => body(c)).deferred());
  }

  /** Corruption, a full disk or an I/O error become coded storage faults naming this file. */
  private faulting<T>(run: () => T): T {
    try {
      return run();
    } catch (error) {
      throw storageFault(error, { kind: 'store', path: this.path }) ?? error;
    }
  }

  private require(): Connection {
    if (this.connection === undefined) throw storeNotOpen('sqlite', this.path);
    return this.connection;
  }
}
