/**
 * Which store a supervisor uses: one it was handed, or one opened from a URL
 * (`sqlite:PATH`, `postgres://…`, `memory:`), by default the embedded SQLite file
 * `<state-dir>/coord.db`.
 */
import { defaultStoreUrl, openStore } from '../store/open-store.js';
import type { TaskStore } from '../store/task-store.js';
import type { ResolvedOptions } from './options.js';

/** Opens (and migrates) the configured store. */
export async function openConfiguredStore(config: ResolvedOptions, stateDir: string, random: () => number): Promise<TaskStore> {
  if (typeof config.store === 'object') {
    await config.store.open();
    return config.store;
  }
  return openStore(config.store ?? defaultStoreUrl(stateDir), { random, maxAttempts: config.maxAttempts, maxReleases: config.maxReleases, maxRateLimitWaits: config.maxRateLimitWaits });
}
