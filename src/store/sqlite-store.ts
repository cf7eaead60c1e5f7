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
import { TASK_STATUSES } from '../queue/task-record.js';
import type { TaskSpec } from '../tasks/spec.js';
import { newLease } from './lease-token.js';
import { SqliteLifecycle } from './sqlite-lifecycle.js';
import { readAllRecords, readRecord, recordOfRow } from './sqlite-reads.js';
import { decodeEvent } from './sqlite-rows.js';
import { openSqliteDatabase } from './sqlite-schema.js';
import { prepareSqliteStatements, type SqliteStatements } from './sqlite-statements.js';
import { resolveStoreOptions, type ResolvedStoreOptions, type StoreOptions } from './store-options.js';
import { storageFault } from './storage-fault.js';
import { storeNotOpen } from './store-state.js';
import type {
  Claim,
  ClaimRequest,
  Completion,
  FailOutcome,
  Failure,
  NodeHold,
  Reaped,
  StoredEvent,
  TaskError,
  TaskRecord,
  TaskStatus,
  TaskStore,
} from './task-store.js';

interface Connection {
  db: Database.Database;
  stmts: SqliteStatements;
  lifecycle: SqliteLifecycle;
}

/**
 * A {@link TaskStore} in one SQLite file. Several instances, in one process or in several,
 * may share the file.
 *
 * @example
 * const store = new SqliteStore('/var/lib/coord/coord.db');
 * await store.open();
 */
export class SqliteStore implements TaskStore {
  readonly kind = 'sqlite';
  private readonly options: ResolvedStoreOptions;
  private connection: Connection | undefined;
  private readonly listeners = new Set<() => void>();
  private poll: NodeJS.Timeout | undefined;
  private dataVersion = 0;

  constructor(
    readonly path: string,
    options: StoreOptions = {},
  ) {
    this.options = resolveStoreOptions(options);
  }

  async open(): Promise<void> {
    if (this.connection !== undefined) return;
    const db = openSqliteDatabase(this.path);
    const stmts = prepareSqliteStatements(db);
    this.connection = { db, stmts, lifecycle: new SqliteLifecycle(stmts, this.options) };
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

  async submit(specs: readonly TaskSpec[], now: number): Promise<string[]> {
    return this.write((c) => c.lifecycle.submit(specs, now));
  }

  async claim(request: ClaimRequest): Promise<Claim | null> {
    const lease = newLease();
    const expiresAt = request.now + request.leaseMs;
    return this.write((c) => {
      const claimed = c.lifecycle.claim(request, lease, expiresAt);
      if (claimed === null) return null;
      const task = readRecord(c.stmts, claimed.taskId) as TaskRecord;
      return { task, attempt: claimed.attempt, lease, expiresAt };
    });
  }

  async peekReady(now: number, limit: number): Promise<TaskRecord[]> {
    return this.write((c) => {
      c.stmts.promoteDue.run(now);
      return c.stmts.readyTasks.all(Math.max(0, limit)).map((raw) => recordOfRow(c.stmts, raw));
    });
  }

  async markRunning(taskId: string, lease: string, now: number): Promise<boolean> {
    return this.write((c) => c.lifecycle.markRunning(taskId, lease, now));
  }

  async extendLeases(leases: readonly string[], leaseMs: number, now: number): Promise<number> {
    if (leases.length === 0) return 0;
    return this.write((c) => c.lifecycle.extendLeases(leases, now + leaseMs));
  }

  async complete(taskId: string, lease: string, completion: Completion): Promise<boolean> {
    return this.write((c) => c.lifecycle.complete(taskId, lease, completion));
  }

  async fail(taskId: string, lease: string, failure: Failure): Promise<FailOutcome | null> {
    return this.write((c) => c.lifecycle.fail(taskId, lease, failure));
  }

  async release(taskId: string, lease: string, now: number, reason: string): Promise<boolean> {
    return this.write((c) => c.lifecycle.release(taskId, lease, now, reason));
  }

  async releaseNode(nodeId: string, now: number): Promise<string[]> {
    return this.write((c) => c.lifecycle.releaseNode(nodeId, now));
  }

  async reapExpired(now: number): Promise<Reaped[]> {
    return this.write((c) => c.lifecycle.reapExpired(now));
  }

  async tryLeadReaper(): Promise<boolean> {
    // Reaping is fenced by lease inside IMMEDIATE transactions: concurrent reapers are safe.
    return true;
  }

  async block(taskId: string, error: TaskError, now: number): Promise<string[]> {
    return this.write((c) => c.lifecycle.block(taskId, error, now));
  }

  async cancel(taskId: string, now: number): Promise<string[]> {
    return this.write((c) => c.lifecycle.cancel(taskId, now));
  }

  async redrive(taskId: string, now: number): Promise<string[]> {
    return this.write((c) => c.lifecycle.redrive(taskId, now));
  }

  async get(taskId: string): Promise<TaskRecord | undefined> {
    return this.read((c) => readRecord(c.stmts, taskId));
  }

  async list(): Promise<TaskRecord[]> {
    return this.read((c) => readAllRecords(c.stmts));
  }

  async counts(): Promise<Record<TaskStatus, number>> {
    return this.read((c) => {
      const counts = Object.fromEntries(TASK_STATUSES.map((status) => [status, 0])) as Record<TaskStatus, number>;
      for (const row of c.stmts.counts.all()) counts[row.status as TaskStatus] = row.n;
      return counts;
    });
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
      const due = [c.stmts.nextRetry.get(), c.stmts.nextExpiry.get()].filter((t): t is number => typeof t === 'number');
      return due.length === 0 ? null : Math.max(0, Math.min(...due) - now);
    });
  }

  async appendEvent(event: Omit<StoredEvent, 'id'>): Promise<void> {
    this.write((c) => c.lifecycle.event(event));
  }

  async events(afterId: number, limit: number): Promise<StoredEvent[]> {
    return this.read((c) => c.stmts.eventsAfter.all(afterId, Math.max(0, limit)).map(decodeEvent));
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
