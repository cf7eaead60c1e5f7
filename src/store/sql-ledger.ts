/**
 * The coordination ledger over SQL (SQLite, PostgreSQL, and the in-memory store's private
 * SQLite): durable budget spend and merge-queue states. Each method is one operation in one
 * transaction (sql-steps.ts); spend is added with an upsert, so two supervisors sharing a
 * store add rather than overwrite.
 */
import { sql, type SqlHost, type SqlOperation } from './sql-steps.js';

/** What the ledger holds for one task in the merge queue (the queue's own shape, as JSON). */
export interface StoredMerge {
  taskId: string;
  status: string;
  state: Record<string, unknown>;
  updatedAt: number;
}

/** Durable coordination state beside the tasks. */
export interface CoordinationLedger {
  /** Adds `usd` to each scope; answers the new totals. */
  addSpend(scopes: readonly string[], usd: number, now: number): Promise<Map<string, number>>;
  /** Every scope's spend. */
  spend(): Promise<Array<{ scope: string; usd: number }>>;
  /** Records a task's merge state (replacing the earlier one). */
  setMerge(taskId: string, status: string, state: Record<string, unknown>, now: number): Promise<void>;
  /** Every task's merge state. */
  merges(): Promise<StoredMerge[]>;
}

export class SqlLedger implements CoordinationLedger {
  private readonly spendTable: string;
  private readonly mergesTable: string;

  constructor(private readonly host: SqlHost) {
    this.spendTable = `${host.prefix}spend`;
    this.mergesTable = `${host.prefix}merges`;
  }

  addSpend(scopes: readonly string[], usd: number, now: number): Promise<Map<string, number>> {
    const table = this.spendTable;
    return this.host.run(function* add(): SqlOperation<Map<string, number>> {
      const totals = new Map<string, number>();
      for (const scope of scopes) {
        const [row] = yield* sql<{ usd: number }>(
          `INSERT INTO ${table} AS s (scope, usd, updated_at) VALUES (?, ?, ?)
           ON CONFLICT (scope) DO UPDATE SET usd = s.usd + excluded.usd, updated_at = excluded.updated_at RETURNING usd`,
          scope, usd, now,
        );
        totals.set(scope, Number(row?.usd ?? usd));
      }
      return totals;
    }, 'write');
  }

  spend(): Promise<Array<{ scope: string; usd: number }>> {
    const table = this.spendTable;
    return this.host.run(function* read(): SqlOperation<Array<{ scope: string; usd: number }>> {
      const rows = yield* sql(`SELECT scope, usd FROM ${table} ORDER BY scope`);
      return rows.map((row) => ({ scope: String(row['scope']), usd: Number(row['usd']) }));
    }, 'read');
  }

  setMerge(taskId: string, status: string, state: Record<string, unknown>, now: number): Promise<void> {
    const table = this.mergesTable;
    return this.host.run(function* write(): SqlOperation<void> {
      yield* sql(
        `INSERT INTO ${table} AS m (task_id, status, state, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (task_id) DO UPDATE SET status = excluded.status, state = excluded.state, updated_at = excluded.updated_at`,
        taskId, status, JSON.stringify(state), now,
      );
    }, 'write');
  }

  merges(): Promise<StoredMerge[]> {
    const table = this.mergesTable;
    return this.host.run(function* read(): SqlOperation<StoredMerge[]> {
      const rows = yield* sql(`SELECT task_id, status, state, updated_at FROM ${table} ORDER BY updated_at, task_id`);
      return rows.map((row) => ({
        taskId: String(row['task_id']), status: String(row['status']), state: JSON.parse(String(row['state'])) as Record<string, unknown>, updatedAt: Number(row['updated_at']),
      }));
    }, 'read');
  }
}
