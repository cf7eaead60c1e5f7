/**
 * What a failed attempt leads to: another attempt after a backoff, or the dead-letter
 * state. One pure rule shared by every store, so a seeded `random` gives the same retry times
 * whether the queue lives in memory, in SQLite or in PostgreSQL.
 */
import { policyOf } from '../errors.js';
import type { LifecycleOptions } from './options.js';
import type { Failure } from './outcomes.js';
import { retryDelayMs, type BackoffPolicy } from './retry-delay.js';
import type { TaskRow } from './rows.js';

/** The facts the rule reads. */
export interface RetryInput {
  /** Attempts that count towards the budget, the failed one included (`attemptCount - attemptBase`). */
  attemptsCounted: number;
  maxAttempts: number;
  policy: BackoffPolicy;
  failure: Pick<Failure, 'code' | 'retryable' | 'retryAfterMs' | 'now'>;
  /** Uniform in [0, 1); called once, and only when the task will be retried. */
  random: () => number;
}

/** `failed` (waits until `readyAt`), `ready` (due at once) or `dead`. */
export type RetryDecision = { status: 'failed' | 'ready'; readyAt: number } | { status: 'dead'; readyAt: null };

/**
 * Retries while the failure is retryable — as reported, and by its code's policy
 * (`ERROR_POLICY`: a report may narrow it, never widen it) — and attempts remain, after
 * {@link retryDelayMs}(attemptsCounted); otherwise dead.
 *
 * @example
 * decideRetry({ attemptsCounted: 1, maxAttempts: 3, policy: DEFAULT_BACKOFF,
 *   failure: { code: 'TASK_EXIT_NONZERO', retryable: true, now: 0 }, random: () => 0.5 }); // { status: 'failed', readyAt: 500 }
 */
export function decideRetry(input: RetryInput): RetryDecision {
  const { attemptsCounted, maxAttempts, policy, failure, random } = input;
  const retryable = failure.retryable && policyOf(failure.code).retryable;
  if (!retryable || attemptsCounted >= maxAttempts) return { status: 'dead', readyAt: null };
  const delay = retryDelayMs(attemptsCounted, policy, random, failure.retryAfterMs ?? 0);
  return { status: delay > 0 ? 'failed' : 'ready', readyAt: failure.now + delay };
}

/** {@link decideRetry} for the task `row` (in flight, its attempt failing): spec settings win over the store's. */
export function retryDecision(row: TaskRow, failure: RetryInput['failure'], options: LifecycleOptions): RetryDecision {
  return decideRetry({
    attemptsCounted: row.attemptCount - row.attemptBase,
    maxAttempts: row.spec.maxAttempts ?? options.maxAttempts,
    policy: row.spec.backoff ?? options.backoff,
    failure,
    random: options.random,
  });
}
