/** The store contract against SQLite: one database file per test in a temporary directory. */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { parseStoreUrl } from '../../src/store/store-url.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { describeStoreContract } from './contract.js';

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
    // Every file in the store's directory, by name and content (the WAL files included).
    fingerprint: async (url) => {
      const dir = join(pathOf(url), '..');
      const hash = createHash('sha256');
      for (const name of (await readdir(dir)).sort()) hash.update(name).update(await readFile(join(dir, name)));
      return hash.digest('hex');
    },
  },
);
