/**
 * The store-wide defaults the lifecycle applies to what a task spec leaves out, and the
 * randomness retry jitter is drawn from. Every store resolves the same options (see
 * store-options.ts), so all three decide identically; a seeded `random` gives the same retry
 * times on every backend.
 */
import type { BackoffPolicy } from './retry-delay.js';

/** What the plans read besides rows. */
export interface LifecycleOptions {
  /** Attempts for a task whose spec has no `maxAttempts`. */
  readonly maxAttempts: number;
  /** Backoff for a task whose spec has no `backoff`. */
  readonly backoff: BackoffPolicy;
  /** Crash-releases (`releaseNode`) before a task is dead with `TASK_KILLS_SUPERVISOR`. */
  readonly maxReleases: number;
  /** Rate-limit deferrals (`defer`) a task may wait out; the one past it ends the task dead with `RATE_LIMITED`. */
  readonly maxRateLimitWaits: number;
  /** Uniform in [0, 1), for the retry jitter; called only for a retry. */
  readonly random: () => number;
}
