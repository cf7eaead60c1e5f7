/**
 * Which store a supervisor uses: one it was handed, or one opened from a URL
 * (`sqlite:PATH` or `memory:`; PostgreSQL is not wired in yet), by default the embedded SQLite file
 * `<state-dir>/coord.db`.
 */
import path from 'node:path';
import { CoordError } from '../errors.js';
import { MemoryStore } from '../store/memory-store.js';
import { SqliteStore } from '../store/sqlite-store.js';
import type { TaskStore } from '../store/task-store.js';
import type { ResolvedOptions } from './options.js';

/** The default store: one SQLite file in the state directory. */
export function defaultStoreUrl(stateDir: string): string {
  return `sqlite:${path.join(stateDir, 'coord.db')}`;
}

/** Opens (and migrates) the configured store. */
export async function openConfiguredStore(config: ResolvedOptions, stateDir: string, random: () => number): Promise<TaskStore> {
  const store = typeof config.store === 'object' ? config.store : storeForUrl(config.store ?? defaultStoreUrl(stateDir), { random, maxAttempts: config.maxAttempts });
  await store.open();
  return store;
}

function storeForUrl(url: string, options: { random: () => number; maxAttempts: number }): TaskStore {
  if (url === 'memory:' || url === 'memory') return new MemoryStore(options);
  if (url.startsWith('sqlite:')) return new SqliteStore(path.resolve(url.slice('sqlite:'.length)), options);
  throw new CoordError('CONFIG_INVALID', `unsupported store URL "${url}": use sqlite:PATH or memory:`);
}
