/**
 * Restart policy for a worker, in the OTP sense: a child spec's `restart` type says whether
 * an exit is restarted at all, restart intensity (`maxRestarts` within `periodMs`) stops a
 * crash loop, and the delay before each restart grows with decorrelated jitter so a fleet of
 * crashing workers neither fork-bombs the machine nor restarts in lockstep. Pure functions:
 * time comes in as arguments and randomness as a `random()` the caller supplies.
 */

/** OTP child-spec restart types. */
export type RestartType = 'permanent' | 'transient' | 'temporary';

/** How a worker is restarted. */
export interface RestartPolicy {
  /** `permanent`: always restart; `transient`: only after an abnormal exit; `temporary`: never. */
  restart: RestartType;
  /** More than this many restarts within `periodMs` and the worker is `failed`. */
  maxRestarts: number;
  periodMs: number;
  /** First restart delay, and the lower bound of every later one. */
  initialDelayMs: number;
  maxDelayMs: number;
  /** Each delay is drawn from [initial, previous × factor] (decorrelated jitter). */
  factor: number;
  /** A worker that stayed up this long since it became ready starts its backoff over. */
  resetAfterMs: number;
}

/** The defaults: permanent, 5 restarts a minute, 200 ms → 30 s delays, reset after a healthy minute. */
export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  restart: 'permanent',
  maxRestarts: 5,
  periodMs: 60_000,
  initialDelayMs: 200,
  maxDelayMs: 30_000,
  factor: 3,
  resetAfterMs: 60_000,
};

/** True for an exit a `transient` worker is restarted after: non-zero code or a signal. */
export function isAbnormalExit(exit: { code: number | null; signal: string | null }): boolean {
  return exit.signal !== null || (exit.code !== null && exit.code !== 0);
}

/** True when the restart type wants this exit restarted (intensity aside). */
export function wantsRestart(policy: RestartPolicy, exit: { code: number | null; signal: string | null }): boolean {
  if (policy.restart === 'temporary') return false;
  return policy.restart === 'permanent' || isAbnormalExit(exit);
}

/** Restart times still inside the intensity window ending at `now`. */
export function recentRestarts(times: readonly number[], policy: RestartPolicy, now: number): number[] {
  return times.filter((at) => now - at < policy.periodMs);
}

/** True while one more restart at `now` stays within `maxRestarts` per `periodMs`. */
export function withinIntensity(times: readonly number[], policy: RestartPolicy, now: number): boolean {
  return recentRestarts(times, policy, now).length < policy.maxRestarts;
}

/**
 * The next restart delay: decorrelated jitter, `min(max, uniform(initial, previous × factor))`,
 * starting from `initial` (previous = null) and again after a healthy run.
 */
export function nextRestartDelay(previousMs: number | null, policy: RestartPolicy, random: () => number): number {
  if (previousMs === null) return policy.initialDelayMs;
  const upper = Math.max(policy.initialDelayMs, previousMs * policy.factor);
  const drawn = policy.initialDelayMs + random() * (upper - policy.initialDelayMs);
  return Math.round(Math.min(policy.maxDelayMs, drawn));
}
