/**
 * The settings a running supervisor can change without a restart (`supervisor.reconfigure`,
 * and the daemon's config reload): each one takes effect for what happens next, and each
 * change is logged. Everything else in the options needs a restart.
 */
import type { LogLevel } from '../log/logger.js';
import type { ResolvedOptions } from './options.js';

/** What `reconfigure` accepts: each key optional, so a call changes only what it names. */
export interface LiveSettings {
  /** Worker processes: more are forked at once, extra ones stop once their task is done. */
  workers?: number;
  logLevel?: LogLevel;
  /** Attempts for every task whose spec names none, from its next failure on. */
  maxAttempts?: number;
  /** Circuit-breaker limits, for breakers from now on and the ones that exist. */
  breaker?: ResolvedOptions['breaker'];
  /** Quiet period before a running task is reported as waiting (null: never), for attempts from now on. */
  quietAfterMs?: number | null;
  /** Timeout of tasks whose spec names none (null: none), for attempts from now on. */
  defaultTimeoutMs?: number | null;
  /** The deadline of a drain that does not name one. */
  drainDeadlineMs?: number;
  /** Shared rate limits by key, replacing the ones in force (a key's window and cooldown are kept). */
  rateLimits?: ResolvedOptions['rateLimits'];
  /** Spending caps, replacing the ones in force (raising a cap releases the tasks it held). */
  budgets?: ResolvedOptions['budgets'];
}

/** The option keys that are live; a change to any other option key needs a restart. */
export const LIVE_SETTING_KEYS = [
  'workers', 'logLevel', 'maxAttempts', 'breaker', 'quietAfterMs', 'defaultTimeoutMs', 'drainDeadlineMs', 'rateLimits', 'budgets',
] as const satisfies ReadonlyArray<keyof LiveSettings>;

export type LiveSettingKey = (typeof LIVE_SETTING_KEYS)[number];
