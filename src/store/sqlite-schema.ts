/**
 * The SQLite store's schema, its migrations, and opening a database file safely: the version
 * is read before anything is written (a store from a newer coord is refused untouched), then
 * WAL, `synchronous=NORMAL` (durable at every checkpoint, and a crash loses at most the last
 * transactions, never consistency) and the migrations, in one IMMEDIATE transaction so two
 * processes opening a fresh file at once cannot both migrate it.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { CoordError, isCoordError } from '../errors.js';
import { coordinationMigration } from './coordination-schema.js';
import { mailboxMigration } from './mailbox-schema.js';
import { rawCodeOf, storageFault } from './storage-fault.js';
import {
  SCHEMA_VERSION_KEY,
  STORE_SCHEMA_VERSION,
  assertSchemaNotNewer,
  assertSchemaReadable,
  parseSchemaVersion,
  pendingMigrations,
  type Migration,
} from './schema-version.js';

/** How long a connection waits for another's write lock before giving up. */
export const SQLITE_BUSY_TIMEOUT_MS = 10_000;

/**
 * Version 1 (then 2, 3 and 4, below). `tasks.needs` is a JSON array (distinct, sorted); a task is in flight exactly
 * when `lease IS NOT NULL`, which the partial indexes rely on. Times shown in records are
 * ISO text (as the records hold them); times the store computes with are epoch ms integers.
 */
export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    statements: [
      `CREATE TABLE tasks (
        id TEXT PRIMARY KEY,
        seq INTEGER NOT NULL UNIQUE,
        spec TEXT NOT NULL,
        priority INTEGER NOT NULL,
        needs TEXT NOT NULL,
        status TEXT NOT NULL,
        unmet_deps INTEGER NOT NULL,
        ready_at INTEGER NOT NULL DEFAULT 0,
        releases INTEGER NOT NULL DEFAULT 0,
        attempt_count INTEGER NOT NULL DEFAULT 0,
        attempt_base INTEGER NOT NULL DEFAULT 0,
        lease TEXT,
        lease_expires_at INTEGER,
        worker TEXT,
        node TEXT,
        started_at TEXT,
        finished_at TEXT,
        exit_code INTEGER,
        result TEXT,
        commit_sha TEXT,
        error TEXT
      )`,
      `CREATE INDEX tasks_ready ON tasks (priority DESC, seq) WHERE status = 'ready'`,
      `CREATE INDEX tasks_due ON tasks (ready_at) WHERE status = 'failed'`,
      `CREATE UNIQUE INDEX tasks_lease ON tasks (lease) WHERE lease IS NOT NULL`,
      `CREATE INDEX tasks_expiry ON tasks (lease_expires_at) WHERE lease IS NOT NULL`,
      `CREATE INDEX tasks_node ON tasks (node) WHERE lease IS NOT NULL`,
      `CREATE INDEX tasks_status ON tasks (status)`,
      `CREATE TABLE deps (
        task_id TEXT NOT NULL,
        dep_id TEXT NOT NULL,
        PRIMARY KEY (task_id, dep_id)
      ) WITHOUT ROWID`,
      `CREATE INDEX deps_dependents ON deps (dep_id, task_id)`,
      `CREATE TABLE attempts (
        task_id TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        node TEXT,
        worker TEXT NOT NULL,
        lease TEXT NOT NULL,
        assigned_at TEXT NOT NULL,
        started_at TEXT,
        finished_at TEXT,
        exit_code INTEGER,
        code TEXT,
        message TEXT,
        PRIMARY KEY (task_id, attempt)
      ) WITHOUT ROWID`,
      `CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        type TEXT NOT NULL,
        task_id TEXT,
        node_id TEXT,
        data TEXT NOT NULL
      )`,
      `CREATE INDEX events_task ON events (task_id)`,
    ],
  },
  {
    // Released starts stay in the history (they ran: execution is at-least-once) without
    // counting as attempts, so they get their own table rather than a flag on `attempts`,
    // whose (task, attempt) key a released start shares with the next counted run. `seq` is
    // the task's release count at the time (so it starts above 1 for a store that released
    // before this version, whose earlier releases were kept only as that count).
    version: 2,
    statements: [
      `CREATE TABLE releases (
        task_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        attempt INTEGER NOT NULL,
        node TEXT,
        worker TEXT NOT NULL,
        lease TEXT NOT NULL,
        assigned_at TEXT NOT NULL,
        started_at TEXT,
        released_at TEXT NOT NULL,
        reason TEXT NOT NULL,
        crash INTEGER NOT NULL,
        PRIMARY KEY (task_id, seq)
      ) WITHOUT ROWID`,
      `ALTER TABLE tasks ADD COLUMN crash_releases INTEGER NOT NULL DEFAULT 0`,
    ],
  },
  {
    // What each run of an agent ran up, kept where the run is (a counted attempt or a released
    // start): its session (JSON `{ agent, id }`) and usage (JSON tokens and cost), NULL for a
    // run task and for every run before this version. The rate-limit-wait count starts at 0.
    // `tasks_waiting` finds the next deferred task's due time (`nextDueMs`) without a scan:
    // it holds only ready tasks with a `ready_at` (deferred ones, and retries promoted when
    // due), never the `ready_at = 0` mass of fresh submissions.
    version: 3,
    statements: [
      `ALTER TABLE attempts ADD COLUMN agent_session TEXT`,
      `ALTER TABLE attempts ADD COLUMN agent_usage TEXT`,
      `ALTER TABLE releases ADD COLUMN agent_session TEXT`,
      `ALTER TABLE releases ADD COLUMN agent_usage TEXT`,
      `ALTER TABLE tasks ADD COLUMN rate_limit_waits INTEGER NOT NULL DEFAULT 0`,
      `CREATE INDEX tasks_waiting ON tasks (ready_at) WHERE status = 'ready' AND ready_at > 0`,
    ],
  },
  // 4: the mailbox (src/store/mailbox-schema.ts).
  { version: 4, statements: mailboxMigration('', 'id INTEGER PRIMARY KEY') },
  // 5: budget spend and merge-queue states (src/store/coordination-schema.ts).
  { version: 5, statements: coordinationMigration('', 'REAL') },
];

/** The stored schema version, or 0 for a file without coord's tables. */
export function readSqliteSchemaVersion(db: Database.Database, where: string): number {
  const hasMeta = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'`).get() !== undefined;
  if (!hasMeta) return 0;
  const row = db.prepare<[string], { value: string }>(`SELECT value FROM meta WHERE key = ?`).get(SCHEMA_VERSION_KEY);
  return row === undefined ? 0 : parseSchemaVersion(row.value, where);
}

/**
 * Opens (creating it and its parent directories if needed) the database at `path`, checks
 * it is whole (`STORE_CORRUPT`), refuses a newer schema (`STORE_TOO_NEW`), and migrates an
 * older one. `readOnly` opens an existing file read-only and migrates nothing (see
 * `assertSchemaReadable`). A full disk is `DISK_FULL`, a directory it cannot write `STATE_DIR_UNWRITABLE`,
 * any other failure to open `STORE_UNAVAILABLE`.
 */
export function openSqliteDatabase(path: string, { readOnly = false }: { readOnly?: boolean } = {}): Database.Database {
  let db: Database.Database;
  try {
    if (!readOnly) mkdirSync(dirname(path), { recursive: true });
    db = new Database(path, { timeout: SQLITE_BUSY_TIMEOUT_MS, readonly: readOnly, fileMustExist: readOnly });
  } catch (thrown) {
    // A recursive mkdir of a path that is a regular file says EEXIST; what it means is ENOTDIR.
    const error = rawCodeOf(thrown) === 'EEXIST' ? Object.assign(new Error(`${dirname(path)} is not a directory`), { code: 'ENOTDIR', cause: thrown }) : thrown;
    throw storageFault(error, { kind: 'store', path }) ?? new CoordError('STORE_UNAVAILABLE', `cannot open the SQLite store at ${path}: ${String(error)}`, {
      cause: error,
      details: { path },
    });
  }
  try {
    // Read before any write: a newer store must be left exactly as it was.
    const found = db.transaction(() => readSqliteSchemaVersion(db, path)).deferred();
    if (readOnly) {
      assertSchemaReadable(found, path);
      assertWhole(db);
      return db;
    }
    assertSchemaNotNewer(found, path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = OFF');
    db.transaction(() => migrate(db, path)).immediate();
    assertWhole(db);
    return db;
  } catch (error) {
    // Closed first, named after: closing the last connection may fold the -wal file into the
    // database and remove it, and the advice's mv command must list the files left behind.
    db.close();
    const fault = isCoordError(error) ? error : storageFault(error, { kind: 'store', path });
    if (fault) throw fault;
    throw new CoordError('STORE_UNAVAILABLE', `cannot use the SQLite store at ${path}: ${String(error)}`, {
      cause: error,
      details: { path },
    });
  }
}

function migrate(db: Database.Database, where: string): void {
  // Another process may have migrated between the first read and this transaction.
  const current = readSqliteSchemaVersion(db, where);
  assertSchemaNotNewer(current, where);
  if (current === STORE_SCHEMA_VERSION) return;
  db.exec(`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
  for (const migration of pendingMigrations(SQLITE_MIGRATIONS, current)) {
    for (const statement of migration.statements) db.exec(statement);
  }
  db.prepare(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`).run(
    SCHEMA_VERSION_KEY,
    String(STORE_SCHEMA_VERSION),
  );
}

/**
 * `PRAGMA quick_check`: a truncated or scribbled file opens without complaint (SQLite reads
 * pages lazily) and would fail only at some later call, mid-run. quick_check walks every
 * page once — measured 40 ms warm, 440 ms from a cold page cache, for a 100k-task store
 * (27 MB) — which is small beside a start, so a corrupt store is refused before anything
 * runs. It reports problems as rows (throwing SQLITE_CORRUPT only for some), so both count.
 */
function assertWhole(db: Database.Database): void {
  const rows = db.pragma('quick_check(1)', { simple: false }) as Array<Record<string, unknown>>;
  const verdict = rows.map((row) => String(Object.values(row)[0])).join('; ');
  if (verdict !== 'ok') throw Object.assign(new Error(`quick_check: ${verdict}`), { code: 'SQLITE_CORRUPT' });
}
