/**
 * The rate-limit budget: how many times a task may wait out its provider's rate limit. A
 * deferral burns no attempt (the task did nothing wrong: the provider said "not now"), so
 * without this bound a limit that never lifts for this task — a quota spent for the month, an
 * account the provider throttles for good — would keep it cycling between `ready` and a
 * doomed start forever. Each wait is as long as the limit says, so a few of them cover any
 * limit that does reset.
 */
import type { TaskError } from './task-record.js';

/** Rate-limit waits a task may sit through before it is dead with `RATE_LIMITED`, unless configured. */
export const DEFAULT_MAX_RATE_LIMIT_WAITS = 5;

/** What one more deferral does to a task that had waited `waitsBefore` times. */
export interface RateLimitVerdict {
  /** The task's rate-limit-wait count after this one. */
  rateLimitWaits: number;
  /** True when this wait is one too many: the task goes dead instead of waiting. */
  dead: boolean;
}

/**
 * Counts one more wait against `maxRateLimitWaits`: with 5, the fifth wait is still waited
 * out and the sixth rate limit kills.
 *
 * @example
 * rateLimitVerdict(4, 5); // { rateLimitWaits: 5, dead: false }
 * rateLimitVerdict(5, 5); // { rateLimitWaits: 6, dead: true }
 */
export function rateLimitVerdict(waitsBefore: number, maxRateLimitWaits: number): RateLimitVerdict {
  const rateLimitWaits = waitsBefore + 1;
  return { rateLimitWaits, dead: rateLimitWaits > maxRateLimitWaits };
}

/** The dead-letter error of a task whose rate-limit budget ran out; `last`: the limit it met this time. */
export function rateLimitedError(taskId: string, rateLimitWaits: number, maxRateLimitWaits: number, last: TaskError): TaskError {
  return {
    code: 'RATE_LIMITED',
    message:
      `task "${taskId}" met its provider's rate limit ${rateLimitWaits} times (maxRateLimitWaits ${maxRateLimitWaits}): ` +
      `it is not run again (redrive it once the limit is lifted); last: ${last.message}`,
    details: { rateLimitWaits, maxRateLimitWaits, last: { code: last.code, message: last.message } },
  };
}
