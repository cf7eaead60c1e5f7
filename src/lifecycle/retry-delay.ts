/**
 * How long a failed task waits before it is ready again: exponential backoff with full
 * jitter (a uniform delay between 0 and the exponential cap), so tasks that failed together,
 * e.g. on a rate limit, do not all come back in the same millisecond.
 */

/** The backoff knobs; a task's `backoff` field has this shape. */
export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly factor: number;
}

/** Used when neither the task nor the queue names a policy. */
export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 1_000, maxMs: 60_000, factor: 2 };

/**
 * The delay before retry number `failures` (1 after the first failure):
 * `floor(random() * min(maxMs, initialMs * factor^(failures-1)))`, but never less than
 * `floorMs` (a worker's `retryAfterMs`, e.g. from a rate-limit answer, which wins even
 * over `maxMs`: retrying earlier would only fail again).
 *
 * @example
 * retryDelayMs(3, DEFAULT_BACKOFF, () => 0.5); // 2000 (half of the 4000 ms cap)
 */
export function retryDelayMs(failures: number, policy: BackoffPolicy, random: () => number, floorMs = 0): number {
  const exponent = Math.max(0, failures - 1);
  const cap = Math.min(policy.maxMs, policy.initialMs * policy.factor ** exponent);
  const jittered = Math.floor(clampUnit(random()) * cap);
  return Math.max(jittered, floorMs);
}

/** A misbehaving random source must not produce negative or over-cap delays. */
function clampUnit(value: number): number {
  if (!(value > 0)) return 0;
  return value < 1 ? value : 1;
}
