/**
 * The store contract against PostgreSQL: a real server (127.0.0.1:5432, database `test`, or
 * $COORD_TEST_PG_URL), one fresh schema per test under a prefix unique to this run, all
 * dropped afterwards. An unreachable server fails these tests; it never skips them.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresMigrations } from '../../src/store/postgres-schema.js';
import { STORE_SCHEMA_VERSION } from '../../src/store/schema-version.js';
import { PostgresStore } from '../../src/store/postgres-store.js';
import { parseStoreUrl } from '../../src/store/store-url.js';
import { describeStoreContract } from './contract.js';

const BASE_URL = process.env.COORD_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const PREFIX = `coord_test_${process.pid}_${Date.now().toString(36)}`;
let schemas = 0;

async function admin<T>(body: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: BASE_URL, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(
      `PostgreSQL is not reachable at ${BASE_URL} (${String(error)}). These tests need a real server: ` +
        'start it (.ci/run does: pg_ctlcluster --skip-systemctl-redirect <version> main start) or set COORD_TEST_PG_URL.',
      { cause: error },
    );
  }
  try {
    return await body(client);
  } finally {
    await client.end();
  }
}

/** Every table of `schema` but `meta` with its columns, in order, and every index but the tables' keys. */
async function tablesOf(client: pg.Client, schema: string): Promise<unknown> {
  const columns = await client.query(
    `SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns
     WHERE table_schema = $1 AND table_name <> 'meta' ORDER BY table_name, ordinal_position`,
    [schema],
  );
  const indexes = await client.query(
    `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename <> 'meta' AND indexname NOT LIKE '%_pkey'
     ORDER BY indexname`,
    [schema],
  );
  return { columns: columns.rows, indexes: indexes.rows };
}

/** What undoes each migration of `schema`: the statements taking it from that version back to the one before. */
function undo(schema: string): Record<number, string[]> {
  const s = `"${schema}"`;
  return {
    2: [`DROP TABLE ${s}.releases`, `ALTER TABLE ${s}.tasks DROP COLUMN crash_releases`],
    3: [
      `DROP INDEX ${s}.tasks_waiting`,
      `ALTER TABLE ${s}.attempts DROP COLUMN agent_session, DROP COLUMN agent_usage`,
      `ALTER TABLE ${s}.releases DROP COLUMN agent_session, DROP COLUMN agent_usage`,
      `ALTER TABLE ${s}.tasks DROP COLUMN rate_limit_waits`,
    ],
    4: ['threads', 'messages', 'cursors', 'triggers', 'trigger_attempts'].map((table) => `DROP TABLE ${s}.${table}`),
    5: ['spend', 'merges'].map((table) => `DROP TABLE ${s}.${table}`),
  };
}

function schemaOf(url: string): string {
  const location = parseStoreUrl(url);
  if (location.kind !== 'postgres') throw new Error(`not a PostgreSQL URL: ${url}`);
  return location.schema;
}

describe('PostgreSQL test server', () => {
  it(`is reachable at ${BASE_URL}`, async () => {
    expect(await admin(async (client) => (await client.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one)).toBe(1);
  });
});

describeStoreContract(
  'postgres',
  async (options) => {
    const schema = `${PREFIX}_${++schemas}`;
    const url = `${BASE_URL}?schema=${schema}`;
    await admin(async () => undefined); // a clear message when the server is down
    const location = parseStoreUrl(url);
    if (location.kind !== 'postgres') throw new Error('unreachable');
    const store = new PostgresStore(location, options);
    await store.open();
    return {
      store,
      url,
      cleanup: async () => {
        await store.close();
        await admin((client) => client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
      },
    };
  },
  {
    shared: true,
    durable: true,
    processes: true,
    exclusiveReaper: true,
    setSchemaVersion: (url, version) =>
      admin(async (client) => {
        await client.query(`UPDATE "${schemaOf(url)}".meta SET value = $1 WHERE key = 'schema_version'`, [String(version)]);
      }),
    downgradeTo: (url, version) =>
      admin(async (client) => {
        const schema = schemaOf(url);
        for (let undone = STORE_SCHEMA_VERSION; undone > version; undone -= 1) {
          const statements = undo(schema)[undone];
          if (statements === undefined) throw new Error(`no undo for schema version ${undone}: add it to undo()`);
          for (const statement of statements) await client.query(statement);
        }
        await client.query(`UPDATE "${schema}".meta SET value = $1 WHERE key = 'schema_version'`, [String(version)]);
        const old = `${schema}_v${version}`;
        await client.query(`CREATE SCHEMA "${old}"`);
        try {
          for (const migration of postgresMigrations(old).filter((m) => m.version <= version)) {
            for (const statement of migration.statements) await client.query(statement);
          }
          // The id column's default names its sequence, and index definitions their table: both carry the schema's name.
          const strip = (rows: unknown, name: string) => JSON.parse(JSON.stringify(rows).replaceAll(`"${name}".`, '').replaceAll(`${name}.`, '')) as unknown;
          expect(strip(await tablesOf(client, schema), schema)).toEqual(strip(await tablesOf(client, old), old));
        } finally {
          await client.query(`DROP SCHEMA "${old}" CASCADE`);
        }
      }),
    schemaVersion: (url) =>
      admin(async (client) => {
        const row = await client.query<{ value: string }>(`SELECT value FROM "${schemaOf(url)}".meta WHERE key = 'schema_version'`);
        return Number(row.rows[0]?.value);
      }),
    // Every table of the schema and every row, in a fixed order.
    fingerprint: (url) =>
      admin(async (client) => {
        const schema = schemaOf(url);
        const hash = createHash('sha256');
        const tables = await client.query<{ table_name: string }>(
          `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`,
          [schema],
        );
        for (const { table_name: table } of tables.rows) {
          const rows = await client.query(`SELECT * FROM "${schema}"."${table}" ORDER BY 1`);
          hash.update(table).update(JSON.stringify(rows.rows));
        }
        return hash.digest('hex');
      }),
    listening: async (store) => {
      if (store instanceof PostgresStore) await store.listening();
    },
  },
);

afterAll(async () => {
  await admin(async (client) => {
    const leftovers = await client.query<{ nspname: string }>(`SELECT nspname FROM pg_namespace WHERE nspname LIKE $1`, [`${PREFIX}%`]);
    for (const { nspname } of leftovers.rows) await client.query(`DROP SCHEMA IF EXISTS "${nspname}" CASCADE`);
  });
});

describe('PostgreSQL store: connections that die', () => {
  async function openPair(): Promise<{ a: PostgresStore; b: PostgresStore; schema: string; done: () => Promise<void> }> {
    const schema = `${PREFIX}_${++schemas}`;
    const location = parseStoreUrl(`${BASE_URL}?schema=${schema}`);
    if (location.kind !== 'postgres') throw new Error('unreachable');
    const a = new PostgresStore(location);
    const b = new PostgresStore(location);
    await a.open();
    await b.open();
    const done = async (): Promise<void> => {
      await a.close();
      await b.close();
      await admin((client) => client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
    };
    return { a, b, schema, done };
  }

  const terminate = (applicationName: string) =>
    admin((client) =>
      client.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, [applicationName]),
    );

  it('re-LISTENs after its listening connection is killed, and says so once', async () => {
    const { a, b, schema, done } = await openPair();
    try {
      let heard = 0;
      b.onChange(() => {
        heard += 1;
      });
      await b.listening();
      await terminate(`coord-listen:${schema}_changes`);
      await expect.poll(() => heard, { timeout: 10_000, interval: 50 }).toBe(1); // the reconnect
      await b.listening();
      await a.submit([{ id: 'x', run: ['true'], deps: [], priority: 0, needs: [], env: {} }], 0);
      await expect.poll(() => heard, { timeout: 10_000, interval: 50 }).toBe(2);
    } finally {
      await done();
    }
  });

  it('hands the reaper role over when the leader\'s connection dies', async () => {
    const { a, b, done } = await openPair();
    try {
      expect(await a.tryLeadReaper('host-a')).toBe(true);
      expect(await b.tryLeadReaper('host-b')).toBe(false);
      await terminate('coord-reaper:host-a');
      await expect.poll(() => b.tryLeadReaper('host-b'), { timeout: 10_000, interval: 50 }).toBe(true);
      await expect.poll(() => a.tryLeadReaper('host-a'), { timeout: 10_000, interval: 50 }).toBe(false);
    } finally {
      await done();
    }
  });
});

describe('PostgreSQL store: supervisors starting together', () => {
  it('migrates a fresh schema once when several stores open it at the same moment', async () => {
    const schema = `${PREFIX}_${++schemas}`;
    const location = parseStoreUrl(`${BASE_URL}?schema=${schema}`);
    if (location.kind !== 'postgres') throw new Error('unreachable');
    // Each store first looks for the schema (not there yet), then waits for the migration lock.
    const stores = Array.from({ length: 4 }, () => new PostgresStore(location));
    try {
      const opened = await Promise.allSettled(stores.map((store) => store.open()));
      expect(opened.map((o) => (o.status === 'rejected' ? String(o.reason) : 'opened'))).toEqual(stores.map(() => 'opened'));
      await stores[0]?.submit([{ id: 'x', run: ['true'], deps: [], priority: 0, needs: [], env: {} }], 0);
      expect((await stores[3]?.get('x'))?.status).toBe('ready');
    } finally {
      for (const store of stores) await store.close();
      await admin((client) => client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
    }
  });
});
