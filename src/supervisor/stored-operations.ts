/**
 * What a supervisor does to its store when no run holds it open (before the start, after
 * the stop): the store is opened from the configuration, used once and closed. A supervisor
 * running elsewhere on the same store, or this one's next start, picks the change up.
 */
import type { ResolvedOptions } from './options.js';
import { stateDirOf } from './runtime.js';
import { openConfiguredStore } from './store-choice.js';
import type { TaskStore } from '../store/task-store.js';
import { openRepository } from '../worktrees/repository.js';

/** A redrive applied straight to the configured store, with no run around it. */
export function redriveStored(config: ResolvedOptions, stateDir: string | undefined, taskId: string, random: () => number): Promise<string[]> {
  return onStore(config, stateDir, random, (store) => store.redrive(taskId, Date.now()));
}

/** Opens the configured store (a stopped supervisor's, or one never started), runs `use`, and closes it. */
export async function onStore<T>(config: ResolvedOptions, stateDir: string | undefined, random: () => number, use: (store: TaskStore) => Promise<T>): Promise<T> {
  const dir = stateDir ?? stateDirOf(config, await openRepository(config.repo, { baseRef: config.baseRef, requireClean: false }));
  const store = await openConfiguredStore(config, dir, random);
  try {
    return await use(store);
  } finally {
    if (typeof config.store !== 'object') await store.close();
  }
}
