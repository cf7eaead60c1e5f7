/**
 * Restart policy for a worker, in the OTP sense: a child spec's `restart` type says whether
 * an exit is restarted at all, restart intensity (`maxRestarts` within `periodMs`) stops a
 * crash loop, and the delay before each restart grows with decorrelated jitter so a fleet of
 * crashing workers neither fork-bombs the machine nor restarts in lockstep.
 *
 * Intensity counts only a worker's own failures (PM2's `min_uptime` rule): a death before
 * ready, or soon after it while idle. A death while running a task is the task's (it costs
 * that task an attempt), so poison tasks cannot use up the pool. A slot whose intensity runs
 * out cools down and tries again, unless its process never became ready at all.
 *
 * Pure functions: time comes in as arguments and randomness as a `random()` the caller supplies.
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
  /** A worker that stayed up this long since it became ready starts its backoff and cool-down over. */
  resetAfterMs: number;
  /** An idle worker that dies sooner than this after becoming ready was unstable (PM2's `min_uptime`). */
  minUptimeMs: number;
  /** The first cool-down of a slot whose intensity ran out; each later one doubles. */
  initialCoolDownMs: number;
  /** Cap on the cool-down. */
  maxCoolDownMs: number;
}

/**
 * The defaults: permanent, 5 unstable restarts a minute, 200 ms → 30 s delays, reset after a
 * healthy minute; unstable means dead within 1 s of ready; cool-downs of 10 s doubling to 5 min.
 */
export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  restart: 'permanent',
  maxRestarts: 5,
  periodMs: 60_000,
  initialDelayMs: 200,
  maxDelayMs: 30_000,
  factor: 3,
  resetAfterMs: 60_000,
  // PM2's default. coord measures it from `ready` (after the hello handshake), not from the
  // fork, so a worker that cannot start already counts as unstable before the window opens;
  // the window only has to catch a worker that says ready and then falls over by itself.
  minUptimeMs: 1_000,
  // systemd lets a unit that hit its start limit start again once StartLimitIntervalSec
  // (10 s) has passed; coord does it by itself, and doubles the wait while the slot keeps
  // failing, so a slot broken for good costs one burst of forks per 5 minutes.
  initialCoolDownMs: 10_000,
  maxCoolDownMs: 300_000,
};

/**
 * What a worker's death is charged to. `task`: it held a task, whose attempt pays for it;
 * `unstable`: it never became ready, or died idle within `minUptimeMs` of ready, which
 * counts against restart intensity; `stable`: it died idle after running fine for a while,
 * which counts against nothing.
 */
export type DeathCause = 'task' | 'unstable' | 'stable';

/** Classifies a death at `at`; `readyAt` is when the dead process said ready (null: never). */
export function classifyDeath(death: { holdingTask: boolean; readyAt: number | null; at: number }, policy: RestartPolicy): DeathCause {
  if (death.holdingTask) return 'task';
  if (death.readyAt === null || death.at - death.readyAt < policy.minUptimeMs) return 'unstable';
  return 'stable';
}

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

/** The next cool-down: `initialCoolDownMs` first (previous = null), then doubling up to `maxCoolDownMs`. */
export function nextCoolDown(previousMs: number | null, policy: RestartPolicy): number {
  if (previousMs === null) return Math.min(policy.initialCoolDownMs, policy.maxCoolDownMs);
  return Math.min(policy.maxCoolDownMs, previousMs * 2);
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
