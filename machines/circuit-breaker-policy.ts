/**
 * Circuit breaker policy (machines/circuit-breaker.ts): its configuration, defaults and the
 * pure arithmetic the machine uses, counting failures inside the window and the open duration
 * after repeated opens. Time comes in as arguments; nothing here reads a clock.
 */

/** How one breaker opens, stays open and probes its way closed again. */
export interface CircuitBreakerConfig {
  /** Consecutive failures (within `failureWindowMs` of each other's latest) that open the breaker. */
  failureThreshold: number;
  /** Only failures within this window of the newest one count toward the threshold. */
  failureWindowMs: number;
  /** How long the first open lasts. */
  openMs: number;
  /** Each consecutive re-open (a failed probe) multiplies the open duration by this. */
  openBackoffFactor: number;
  /** The open duration never grows beyond this. */
  maxOpenMs: number;
  /** Probes allowed in flight at once in `halfOpen`; a request beyond this is refused. */
  halfOpenProbes: number;
  /** Successful probes needed in `halfOpen` to close the breaker. */
  closeAfterSuccesses: number;
}

/** The defaults: 5 failures within a minute open it for 60 s (×2 per re-open, 10 min at most); 1 probe, 1 success closes. */
export const DEFAULT_BREAKER_CONFIG: CircuitBreakerConfig = {
  failureThreshold: 5,
  failureWindowMs: 60_000,
  openMs: 60_000,
  openBackoffFactor: 2,
  maxOpenMs: 10 * 60_000,
  halfOpenProbes: 1,
  closeAfterSuccesses: 1,
};

/**
 * Fills in the defaults. Counts below 1 (threshold, probes, successes) are raised to 1: a
 * breaker that opens on zero failures or grants zero probes could never close again.
 */
export function resolveBreakerConfig(overrides: Partial<CircuitBreakerConfig> = {}): CircuitBreakerConfig {
  const config = { ...DEFAULT_BREAKER_CONFIG, ...overrides };
  const atLeastOne = (n: number) => Math.max(1, Math.floor(n));
  return {
    ...config,
    failureThreshold: atLeastOne(config.failureThreshold),
    halfOpenProbes: atLeastOne(config.halfOpenProbes),
    closeAfterSuccesses: atLeastOne(config.closeAfterSuccesses),
  };
}

/** The failures (epoch ms) that still count at `now`, with the failure at `now` added. */
export function countedFailures(failures: readonly number[], windowMs: number, now: number): number[] {
  return [...failures.filter((at) => now - at < windowMs), now];
}

/**
 * How long the `opens`-th consecutive open lasts (1 = the first since the breaker was last
 * closed): `openMs × factor^(opens − 1)`, capped at `maxOpenMs`.
 */
export function openDurationMs(config: CircuitBreakerConfig, opens: number): number {
  const grown = config.openMs * config.openBackoffFactor ** Math.max(0, opens - 1);
  return Math.min(config.maxOpenMs, grown);
}
