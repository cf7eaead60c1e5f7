/**
 * The PostgreSQL store's schema (all tables in one schema, named by the URL's `?schema=`),
 * its migrations, and opening it safely: the version is read before anything is written (a
 * store from a newer coord is refused untouched); migrations run in one transaction holding
 * an advisory lock, so supervisors starting together cannot both migrate.
 */
import type { PoolClient } from 'pg';
import { coordinationMigration } from './coordination-schema.js';
import { mailboxMigration } from './mailbox-schema.js';
import {
  SCHEMA_VERSION_KEY,
  STORE_SCHEMA_VERSION,
  assertSchemaNotNewer,
  parseSchemaVersion,
  pendingMigrations,
  type Migration,
} from './schema-version.js';

/** `"name"`: schema names are validated to `[A-Za-z_][A-Za-z0-9_]*`, quoting keeps their case. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * Version 1 (then 2 and 3), as for SQLite, with PostgreSQL types: `needs` is `text[]` (claims test
 * `needs <@ capabilities`), JSON columns are `json` (kept as written, `\u0000` included),
 * epoch-ms times `bigint`. A task is in flight exactly when `lease IS NOT NULL`.
 */
export function postgresMigrations(schema: string): Migration[] {
  const s = quoteIdent(schema);
  return [
    {
      version: 1,
      statements: [
        `CREATE TABLE ${s}.tasks (
          id text PRIMARY KEY,
          seq bigint NOT NULL UNIQUE,
          spec json NOT NULL,
          priority integer NOT NULL,
          needs text[] NOT NULL,
          status text NOT NULL,
          unmet_deps integer NOT NULL,
          ready_at bigint NOT NULL DEFAULT 0,
          releases integer NOT NULL DEFAULT 0,
          attempt_count integer NOT NULL DEFAULT 0,
          attempt_base integer NOT NULL DEFAULT 0,
          lease text,
          lease_expires_at bigint,
          worker text,
          node text,
          started_at text,
          finished_at text,
          exit_code integer,
          result json,
          commit_sha text,
          error json
        )`,
        `CREATE INDEX tasks_ready ON ${s}.tasks (priority DESC, seq) WHERE status = 'ready'`,
        `CREATE INDEX tasks_due ON ${s}.tasks (ready_at) WHERE status = 'failed'`,
        `CREATE UNIQUE INDEX tasks_lease ON ${s}.tasks (lease) WHERE lease IS NOT NULL`,
        `CREATE INDEX tasks_expiry ON ${s}.tasks (lease_expires_at) WHERE lease IS NOT NULL`,
        `CREATE INDEX tasks_node ON ${s}.tasks (node) WHERE lease IS NOT NULL`,
        `CREATE INDEX tasks_status ON ${s}.tasks (status)`,
        `CREATE TABLE ${s}.deps (task_id text NOT NULL, dep_id text NOT NULL, PRIMARY KEY (task_id, dep_id))`,
        `CREATE INDEX deps_dependents ON ${s}.deps (dep_id, task_id)`,
        `CREATE TABLE ${s}.attempts (
          task_id text NOT NULL,
          attempt integer NOT NULL,
          node text,
          worker text NOT NULL,
          lease text NOT NULL,
          assigned_at text NOT NULL,
          started_at text,
          finished_at text,
          exit_code integer,
          code text,
          message text,
          PRIMARY KEY (task_id, attempt)
        )`,
        `CREATE TABLE ${s}.events (
          id bigserial PRIMARY KEY,
          at bigint NOT NULL,
          type text NOT NULL,
          task_id text,
          node_id text,
          data json NOT NULL
        )`,
        `CREATE INDEX events_task ON ${s}.events (task_id)`,
      ],
    },
    {
      // As SQLite's version 2: released starts in their own table, and the crash-release count.
      version: 2,
      statements: [
        `CREATE TABLE ${s}.releases (
          task_id text NOT NULL,
          seq integer NOT NULL,
          attempt integer NOT NULL,
          node text,
          worker text NOT NULL,
          lease text NOT NULL,
          assigned_at text NOT NULL,
          started_at text,
          released_at text NOT NULL,
          reason text NOT NULL,
          crash boolean NOT NULL,
          PRIMARY KEY (task_id, seq)
        )`,
        `ALTER TABLE ${s}.tasks ADD COLUMN crash_releases integer NOT NULL DEFAULT 0`,
      ],
    },
    {
      // As SQLite's version 3: each run's agent session and usage (`json`), the rate-limit-wait
      // count, and the index of ready tasks with a due time.
      version: 3,
      statements: [
        `ALTER TABLE ${s}.attempts ADD COLUMN agent_session json, ADD COLUMN agent_usage json`,
        `ALTER TABLE ${s}.releases ADD COLUMN agent_session json, ADD COLUMN agent_usage json`,
        `ALTER TABLE ${s}.tasks ADD COLUMN rate_limit_waits integer NOT NULL DEFAULT 0`,
        `CREATE INDEX tasks_waiting ON ${s}.tasks (ready_at) WHERE status = 'ready' AND ready_at > 0`,
      ],
    },
    // As SQLite's version 4: the mailbox.
    { version: 4, statements: mailboxMigration(`${s}.`, 'id bigserial PRIMARY KEY') },
    // As SQLite's version 5: budget spend and merge-queue states.
    { version: 5, statements: coordinationMigration(`${s}.`, 'DOUBLE PRECISION') },
  ];
}

/** The stored version, or 0 when the schema has no `meta` table yet. */
export async function readPostgresSchemaVersion(client: PoolClient, schema: string, where: string): Promise<number> {
  const table = `${quoteIdent(schema)}.meta`;
  const exists = await client.query<{ found: string | null }>(`SELECT to_regclass($1)::text AS found`, [table]);
  if (exists.rows[0]?.found == null) return 0;
  const row = await client.query<{ value: string }>(`SELECT value FROM ${table} WHERE key = $1`, [SCHEMA_VERSION_KEY]);
  const value = row.rows[0]?.value;
  return value === undefined ? 0 : parseSchemaVersion(value, where);
}

/**
 * Refuses a newer schema (`STORE_TOO_NEW`, before any write), then creates the schema and
 * applies pending migrations in one transaction, under an advisory lock so that supervisors
 * starting together migrate one after the other.
 *
 * The lock is a session lock taken *before* the transaction begins: a backend refreshes its
 * catalog caches when a transaction starts, not when it gets an advisory lock, so a
 * transaction that began before another supervisor's migration committed would still see
 * the schema as missing and create its tables twice.
 */
export async function migratePostgres(client: PoolClient, schema: string, where: string): Promise<void> {
  assertSchemaNotNewer(await readPostgresSchemaVersion(client, schema, where), where);
  const key = `coord-migrate:${schema}`;
  await client.query(`SELECT pg_advisory_lock(hashtext($1))`, [key]);
  try {
    await client.query('BEGIN');
    try {
      const current = await readPostgresSchemaVersion(client, schema, where);
      assertSchemaNotNewer(current, where);
      if (current < STORE_SCHEMA_VERSION) {
        const s = quoteIdent(schema);
        await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
        await client.query(`CREATE TABLE IF NOT EXISTS ${s}.meta (key text PRIMARY KEY, value text NOT NULL)`);
        for (const migration of pendingMigrations(postgresMigrations(schema), current)) {
          for (const statement of migration.statements) await client.query(statement);
        }
        await client.query(
          `INSERT INTO ${s}.meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
          [SCHEMA_VERSION_KEY, String(STORE_SCHEMA_VERSION)],
        );
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  } finally {
    await client.query(`SELECT pg_advisory_unlock(hashtext($1))`, [key]).catch(() => undefined);
  }
}
