/**
 * Opening a store from its URL: the one entry point the supervisor and the CLI use
 * (`--store URL`, `createSupervisor({ store })`).
 */
import { MemoryStore } from './memory-store.js';
import { PostgresStore } from './postgres-store.js';
import { SqliteStore } from './sqlite-store.js';
import type { StoreOptions } from './store-options.js';
import { parseStoreUrl } from './store-url.js';
import type { TaskStore } from './task-store.js';

export { defaultStoreUrl, parseStoreUrl } from './store-url.js';

/**
 * Creates and opens the store `url` names: `memory:`, `sqlite:PATH` (relative to the working
 * directory; parent directories are created) or `postgres://…`/`postgresql://…`
 * (`?schema=NAME`, default `coord`). Migrations are applied on open. Throws
 * `STORE_URL_INVALID` for a bad URL, `STORE_UNAVAILABLE` when the database cannot be reached
 * or opened, `STORE_TOO_NEW` for a store written by a newer coord; for SQLite also
 * `STORE_CORRUPT` (a damaged or foreign file), `DISK_FULL` and `STATE_DIR_UNWRITABLE`.
 *
 * @example
 * const store = await openStore(defaultStoreUrl(stateDir), { maxAttempts: 3 });
 * try {
 *   await store.submit(specs, Date.now());
 * } finally {
 *   await store.close();
 * }
 */
export async function openStore(url: string, options: StoreOptions = {}): Promise<TaskStore> {
  const location = parseStoreUrl(url);
  const store: TaskStore =
    location.kind === 'memory'
      ? new MemoryStore(options)
      : location.kind === 'sqlite'
        ? new SqliteStore(location.path, options)
        : new PostgresStore(location, options);
  await store.open();
  return store;
}
