/**
 * What a failed attempt leads to: another attempt after a backoff, or the dead-letter
 * state. One pure rule shared by every store backend, so a seeded `random` gives the same
 * retry times whether the queue lives in memory, in SQLite or in PostgreSQL.
 */
import type { Failure } from './outcomes.js';
import { retryDelayMs, type BackoffPolicy } from './retry-delay.js';

/** The facts the rule reads. */
export interface RetryInput {
  /** Attempts that count towards the budget, the failed one included (`attempts.length - attemptBase`). */
  attemptsCounted: number;
  maxAttempts: number;
  policy: BackoffPolicy;
  failure: Pick<Failure, 'retryable' | 'retryAfterMs' | 'now'>;
  /** Uniform in [0, 1); called once, and only when the task will be retried. */
  random: () => number;
}

/** `failed` (waits until `readyAt`), `ready` (due at once) or `dead`. */
export type RetryDecision = { status: 'failed' | 'ready'; readyAt: number } | { status: 'dead'; readyAt: null };

/**
 * Retries while the failure is retryable and attempts remain, after
 * {@link retryDelayMs}(attemptsCounted); otherwise dead.
 *
 * @example
 * decideRetry({ attemptsCounted: 1, maxAttempts: 3, policy: DEFAULT_BACKOFF,
 *   failure: { retryable: true, now: 0 }, random: () => 0.5 }); // { status: 'failed', readyAt: 500 }
 */
export function decideRetry(input: RetryInput): RetryDecision {
  const { attemptsCounted, maxAttempts, policy, failure, random } = input;
  if (!failure.retryable || attemptsCounted >= maxAttempts) return { status: 'dead', readyAt: null };
  const delay = retryDelayMs(attemptsCounted, policy, random, failure.retryAfterMs ?? 0);
  return { status: delay > 0 ? 'failed' : 'ready', readyAt: failure.now + delay };
}
