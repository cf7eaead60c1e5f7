/**
 * SQL operations written once for SQLite and PostgreSQL: a generator yields each statement
 * (`?` placeholders, table names through the host's prefix) and receives its rows; a host
 * runs it inside one of its transactions — synchronously on better-sqlite3 (whose
 * transactions cannot wait), asynchronously on a pg client. The mailbox's tables use it
 * (src/store/sql-mailbox.ts); the task lifecycle has its own, richer operations (operation.ts).
 *
 * @example
 * function* count(t: TableNames): SqlOperation<number> {
 *   const [row] = yield* sql<{ n: number }>(`SELECT count(*) AS n FROM ${t.messages}`);
 *   return Number(row?.n ?? 0);
 * }
 */
import type Database from 'better-sqlite3';
import type { PoolClient } from 'pg';

/** A row as a driver returns it. */
export type SqlRow = Record<string, unknown>;

/** One statement of an operation. */
export interface SqlStep {
  readonly sql: string;
  readonly params: readonly unknown[];
}

/** An operation answering `T`. */
export type SqlOperation<T> = Generator<SqlStep, T, SqlRow[]>;

/** Runs one statement; resolves to its rows (none for a statement that returns nothing). */
export function* sql<R extends SqlRow = SqlRow>(text: string, ...params: unknown[]): Generator<SqlStep, R[], SqlRow[]> {
  return (yield { sql: text, params }) as R[];
}

/** Where an operation runs: a dialect, the prefix of its tables, and its transactions. */
export interface SqlHost {
  readonly dialect: 'sqlite' | 'postgres';
  /** Prepended to every table name (`"coord".` on PostgreSQL, nothing on SQLite). */
  readonly prefix: string;
  /** Runs `operation` in one transaction (`write`: taking the write lock first). */
  run<T>(operation: () => SqlOperation<T>, mode: 'read' | 'write'): Promise<T>;
}

/**
 * A host over a better-sqlite3 database (statements prepared once, cached by text);
 * `guard` wraps each transaction (to map storage faults).
 */
export function sqliteHost(db: () => Database.Database, guard: <T>(run: () => T) => T = (run) => run()): SqlHost {
  const cache = new Map<string, { db: Database.Database; stmt: Database.Statement }>();
  const statement = (conn: Database.Database, text: string): Database.Statement => {
    const cached = cache.get(text);
    if (cached && cached.db === conn) return cached.stmt;
    const stmt = conn.prepare(text);
    cache.set(text, { db: conn, stmt });
    return stmt;
  };
  return {
    dialect: 'sqlite',
    prefix: '',
    run<T>(operation: () => SqlOperation<T>, mode: 'read' | 'write'): Promise<T> {
      const conn = db();
      const body = conn.transaction(() => {
        const op = operation();
        for (let step = op.next([]); ; ) {
          if (step.done === true) return step.value;
          const stmt = statement(conn, step.value.sql);
          const params = step.value.params as unknown[];
          if (stmt.reader) step = op.next(stmt.all(...params) as SqlRow[]);
          else {
            stmt.run(...params);
            step = op.next([]);
          }
        }
      });
      try {
        return Promise.resolve(guard(() => (mode === 'write' ? body.immediate() : body.deferred())));
      } catch (error) {
        return Promise.reject(error);
      }
    },
  };
}

/** `?` placeholders as PostgreSQL's `$1, $2, …` (the mailbox's SQL holds no `?` in literals). */
export function numberedPlaceholders(text: string): string {
  let n = 0;
  return text.replace(/\?/g, () => `$${(n += 1)}`);
}

/** A host over PostgreSQL transactions (`tx` for writes, `snapshot` for reads). */
export function postgresHost(
  prefix: string,
  tx: <T>(body: (client: PoolClient) => Promise<T>) => Promise<T>,
  snapshot: <T>(body: (client: PoolClient) => Promise<T>) => Promise<T>,
): SqlHost {
  return {
    dialect: 'postgres',
    prefix,
    run<T>(operation: () => SqlOperation<T>, mode: 'read' | 'write'): Promise<T> {
      return (mode === 'write' ? tx : snapshot)(async (client) => {
        const op = operation();
        for (let step = op.next([]); ; ) {
          if (step.done === true) return step.value;
          const result = await client.query(numberedPlaceholders(step.value.sql), step.value.params as unknown[]);
          step = op.next(result.rows as SqlRow[]);
        }
      });
    },
  };
}
