/**
 * The in-memory store: the lifecycle's plans over tables held in this process's memory
 * (memory-tables.ts), behind the {@link TaskStore} interface. Nothing survives the process;
 * use it for tests and for embedding coord where durability does not matter.
 *
 * Why tables of its own rather than SQLite on `:memory:`: the same plans run either way, but a
 * SQLite call costs a few hundred microseconds where these maps cost tens (measured by the
 * graph-scale and store-throughput benchmarks), and the in-memory store is the one
 * embedders pick for speed.
 */
import Database from 'better-sqlite3';
import { mailboxMigration } from './mailbox-schema.js';
import { coordinationMigration } from './coordination-schema.js';
import { SqlLedger, type CoordinationLedger } from './sql-ledger.js';
import { SqlMailbox } from './sql-mailbox.js';
import { sqliteHost } from './sql-steps.js';
import type { Mailbox } from '../mailbox/types.js';
import { CoordError } from '../errors.js';
import { describeHolder, type LockHolder } from '../locks/file-lock.js';
import { MemoryTables } from './memory-tables.js';
import { runSync, type Operation } from './operation.js';
import { LifecycleStore } from './lifecycle-store.js';
import { resolveStoreOptions, type StoreOptions } from './store-options.js';
import type { NodeHold, StoredEvent, TaskRecord, TaskStatus, TaskStore } from './task-store.js';

type InFlightEntry = Awaited<ReturnType<TaskStore['inFlight']>>[number];

/**
 * A {@link TaskStore} held in this process's memory.
 *
 * @example
 * const store = new MemoryStore({ maxAttempts: 3 });
 * await store.open();
 * await store.submit(specs, Date.now());
 * const claim = await store.claim({ nodeId: 'n1', workerId: 'w1', capabilities: [], leaseMs: 15_000, now: Date.now() });
 */
/** A private in-memory SQLite database with the mailbox's and the ledger's tables, opened on first use. */
function memorySideDb(): () => Database.Database {
  let db: Database.Database | undefined;
  return () => {
    if (db === undefined) {
      db = new Database(':memory:');
      for (const statement of [...mailboxMigration('', 'id INTEGER PRIMARY KEY'), ...coordinationMigration('', 'REAL')]) db.exec(statement);
    }
    return db;
  };
}

export class MemoryStore extends LifecycleStore implements TaskStore {
  readonly kind = 'memory';
  private readonly tables = new MemoryTables();
  private readonly nodeHolders = new Map<string, LockHolder>();
  private readonly sideDb = memorySideDb();
  /** The mailbox, over a private in-memory SQLite database (gone with the store, like the rest). */
  readonly mailbox: Mailbox = new SqlMailbox(sqliteHost(this.sideDb));
  /** Budget spend and merge states, in the same private database. */
  readonly ledger: CoordinationLedger = new SqlLedger(sqliteHost(this.sideDb));

  constructor(options: StoreOptions = {}) {
    super(resolveStoreOptions(options));
  }

  async open(): Promise<void> {}
  async close(): Promise<void> {}

  async holdNode(holder: LockHolder): Promise<NodeHold> {
    const current = this.nodeHolders.get(holder.nodeId);
    if (current !== undefined) {
      throw new CoordError('STATE_LOCKED', `node ${holder.nodeId} of this in-memory store is in use by another supervisor, ${describeHolder(current)}`, {
        details: { holderPid: current.pid, holderNodeId: current.nodeId, holderHost: current.host },
      });
    }
    this.nodeHolders.set(holder.nodeId, holder);
    return { release: async () => void this.nodeHolders.delete(holder.nodeId) };
  }

  /** Runs to its end without interleaving: nothing else touches the tables meanwhile. */
  protected async perform<T>(operation: () => Operation<T>): Promise<T> {
    return runSync(operation(), this.tables, (changes) => this.tables.apply(changes));
  }

  async tryLeadReaper(): Promise<boolean> {
    return true;
  }

  async get(taskId: string): Promise<TaskRecord | undefined> {
    return this.tables.record(taskId);
  }

  async list(): Promise<TaskRecord[]> {
    return this.tables.records();
  }

  async counts(): Promise<Record<TaskStatus, number>> {
    return this.tables.counts();
  }

  async isSettled(): Promise<boolean> {
    return this.tables.isSettled();
  }

  async inFlight(nodeId?: string): Promise<InFlightEntry[]> {
    return this.tables
      .inFlightRows()
      .filter((row) => nodeId === undefined || row.node === nodeId)
      .map((row) => ({
        taskId: row.id,
        lease: row.lease ?? '',
        nodeId: row.node ?? '',
        workerId: row.worker ?? '',
        expiresAt: row.leaseExpiresAt ?? Number.MAX_SAFE_INTEGER,
      }));
  }

  async nextDueMs(now: number): Promise<number | null> {
    const due = this.tables.nextDue(now);
    return due === null ? null : Math.max(0, due - now);
  }

  async events(afterId: number, limit: number): Promise<StoredEvent[]> {
    return this.tables.events(afterId, limit);
  }

  async latestEvents(limit: number): Promise<StoredEvent[]> {
    return this.tables.latestEvents(limit);
  }

  onChange(): () => void {
    // Nobody else shares this store, so nobody else changes it.
    return () => {};
  }
}
