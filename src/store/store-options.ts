/**
 * What a store is opened with: the lifecycle's store-wide defaults (what a task spec leaves
 * out, and the randomness retry jitter is drawn from: see lifecycle/options.ts), the same for
 * all three backends, and each backend's own knobs.
 */
import type { LifecycleOptions } from '../lifecycle/options.js';
import { DEFAULT_MAX_RATE_LIMIT_WAITS } from '../lifecycle/rate-limit-budget.js';
import { DEFAULT_MAX_RELEASES } from '../lifecycle/release-budget.js';
import { DEFAULT_BACKOFF, type BackoffPolicy } from '../lifecycle/retry-delay.js';

/** What `openStore` and the store constructors accept. */
export interface StoreOptions {
  /** Uniform in [0, 1) for the retry jitter (default `Math.random`); seed it in tests. */
  random?: () => number;
  /** Attempts for a task whose spec has no `maxAttempts` (default 1: no retries). */
  maxAttempts?: number;
  /** Backoff for a task whose spec has no `backoff` (default 1 s, ×2, at most 60 s). */
  backoff?: BackoffPolicy;
  /** Crash-releases (`releaseNode`) before a task is dead with `TASK_KILLS_SUPERVISOR` (default 3). */
  maxReleases?: number;
  /** Rate-limit waits (`defer`) before a task is dead with `RATE_LIMITED` (default 5: the sixth limit kills). */
  maxRateLimitWaits?: number;
  /**
   * Open for reading only (the CLI's `status`, `tasks`, `task`, `logs`): nothing is migrated or
   * written, and a mutation fails. SQLite opens the file read-only; PostgreSQL runs every
   * transaction read-only. The stored schema must be this code's version.
   */
  readOnly?: boolean;
  /** SQLite: how often `onChange` polls for other connections' commits, in ms (default 200). */
  changePollMs?: number;
  /** PostgreSQL: connections in the pool (default 10), besides the LISTEN and leader connections. */
  poolSize?: number;
}

/** {@link StoreOptions} with every default applied. */
export interface ResolvedStoreOptions extends LifecycleOptions {
  readonly readOnly: boolean;
  readonly changePollMs: number;
  readonly poolSize: number;
}

/** Applies the defaults. */
export function resolveStoreOptions(options: StoreOptions = {}): ResolvedStoreOptions {
  return {
    random: options.random ?? Math.random,
    maxAttempts: options.maxAttempts ?? 1,
    backoff: options.backoff ?? DEFAULT_BACKOFF,
    maxReleases: options.maxReleases ?? DEFAULT_MAX_RELEASES,
    maxRateLimitWaits: options.maxRateLimitWaits ?? DEFAULT_MAX_RATE_LIMIT_WAITS,
    readOnly: options.readOnly ?? false,
    changePollMs: options.changePollMs ?? 200,
    poolSize: options.poolSize ?? 10,
  };
}
