/** The store contract against SQLite: one database file per test in a temporary directory. */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it, vi } from 'vitest';
import { parseStoreUrl } from '../../src/store/store-url.js';
import { STORE_SCHEMA_VERSION } from '../../src/store/schema-version.js';
import { SQLITE_MIGRATIONS } from '../../src/store/sqlite-schema.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { describeStoreContract } from './contract.js';

/** Every table but `meta` with its columns (name, type, not null, default, key position), and every index coord made. */
function tablesOf(db: Database.Database): unknown {
  const names = db.prepare<[], { name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN ('meta', 'sqlite_sequence') ORDER BY name`).all();
  const tables = names.map(({ name }) => [name, db.prepare(`SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info(?)`).all(name)]);
  const indexes = db.prepare(`SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name`).all();
  return { tables, indexes };
}

/** What undoes each migration: the statements taking a store from that version back to the one before. */
const UNDO: Record<number, string> = {
  2: `DROP TABLE releases; ALTER TABLE tasks DROP COLUMN crash_releases`,
  3: `DROP INDEX tasks_waiting;
    ALTER TABLE attempts DROP COLUMN agent_session; ALTER TABLE attempts DROP COLUMN agent_usage;
    ALTER TABLE releases DROP COLUMN agent_session; ALTER TABLE releases DROP COLUMN agent_usage;
    ALTER TABLE tasks DROP COLUMN rate_limit_waits`,
  4: `DROP TABLE threads; DROP TABLE messages; DROP TABLE cursors; DROP TABLE triggers; DROP TABLE trigger_attempts`,
  5: `DROP TABLE spend; DROP TABLE merges`,
};

function pathOf(url: string): string {
  const location = parseStoreUrl(url);
  if (location.kind !== 'sqlite') throw new Error(`not a SQLite URL: ${url}`);
  return location.path;
}

describeStoreContract(
  'sqlite',
  async (options) => {
    const dir = await mkdtemp(join(tmpdir(), 'coord-store-'));
    const path = join(dir, 'state', 'coord.db');
    const store = new SqliteStore(path, options);
    await store.open();
    return {
      store,
      url: `sqlite:${path}`,
      cleanup: async () => {
        await store.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
  {
    shared: true,
    durable: true,
    processes: true,
    exclusiveReaper: false,
    setSchemaVersion: async (url, version) => {
      const db = new Database(pathOf(url));
      db.prepare(`UPDATE meta SET value = ? WHERE key = 'schema_version'`).run(String(version));
      db.close();
    },
    downgradeTo: async (url, version) => {
      const db = new Database(pathOf(url));
      for (let undone = STORE_SCHEMA_VERSION; undone > version; undone -= 1) {
        const undo = UNDO[undone];
        if (undo === undefined) throw new Error(`no undo for schema version ${undone}: add it to UNDO`);
        db.exec(undo);
      }
      db.prepare(`UPDATE meta SET value = ? WHERE key = 'schema_version'`).run(String(version));
      const old = new Database(':memory:');
      for (const migration of SQLITE_MIGRATIONS.filter((m) => m.version <= version)) {
        for (const statement of migration.statements) old.exec(statement);
      }
      expect(tablesOf(db)).toEqual(tablesOf(old));
      old.close();
      db.close();
    },
    schemaVersion: async (url) => {
      const db = new Database(pathOf(url), { readonly: true });
      const row = db.prepare<[], { value: string }>(`SELECT value FROM meta WHERE key = 'schema_version'`).get();
      db.close();
      return Number(row?.value);
    },
    // Every file in the store's directory, by name and content (the WAL included), but for
    // what a reader of a WAL database makes without writing data: the -shm index SQLite
    // rebuilds at will, and an empty -wal.
    fingerprint: async (url) => {
      const dir = join(pathOf(url), '..');
      const hash = createHash('sha256');
      for (const name of (await readdir(dir)).sort()) {
        if (name.endsWith('-shm')) continue;
        const content = await readFile(join(dir, name));
        if (name.endsWith('-wal') && content.length === 0) continue;
        hash.update(name).update(content);
      }
      return hash.digest('hex');
    },
  },
);

describe('SQLite store: hearing other processes', () => {
  it('still hears a change after a long quiet spell (the poll slows down while idle, never stops)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'coord-store-'));
    const path = join(dir, 'coord.db');
    const writer = new SqliteStore(path);
    const listener = new SqliteStore(path, { changePollMs: 10 });
    await writer.open();
    await listener.open();
    // The poll's own clock, advanced by the test: every poll of a spell runs before the test
    // looks, so "nothing heard" means every poll looked and saw nothing.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      let heard = 0;
      const off = listener.onChange(() => {
        heard += 1;
      });
      // Quiet for long enough that the poll has slowed to its slowest (10 × 10 ms).
      await vi.advanceTimersByTimeAsync(600);
      expect(heard).toBe(0);
      await writer.submit([{ id: 'a', run: ['true'], deps: [], priority: 0, needs: [], env: {} }], 0);
      // Heard within one slowest interval: the poll slowed down, it did not stop.
      await vi.advanceTimersByTimeAsync(100);
      expect(heard).toBe(1);
      await writer.submit([{ id: 'b', run: ['true'], deps: [], priority: 0, needs: [], env: {} }], 0);
      await vi.advanceTimersByTimeAsync(100);
      expect(heard).toBe(2);
      off();
    } finally {
      vi.useRealTimers();
      await listener.close();
      await writer.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
