/**
 * The shared rate limiter: one account's limits shared by every worker, decided in the
 * supervisor (pure policy: no timers, no processes; `now` comes in with every call, so it is
 * tested with a simulated clock).
 *
 * Per key (a provider such as `anthropic`, or any name a task gives as `rateKey`):
 * - **starts per window** (`requestsPerMinute`): a sliding-window log of grant times. A
 *   refilling token bucket lets up to twice its size through around a window boundary (a
 *   full bucket, then a refill); the log never lets more than the limit start in any window.
 * - **tokens per window** (`tokensPerMinute`): the tokens the key's attempts actually used
 *   (`coord:usage`, `consume`) over the last window; a new start waits while the window is
 *   spent.
 * - **concurrency** (`maxConcurrent`), under AIMD: a rate-limit signal from the provider (a
 *   429, `RATE_LIMITED` with a reset time) puts the key in cooldown until the reset for every
 *   worker at once, and halves the key's concurrency; each window without a signal gives one
 *   back, up to `maxConcurrent` (without one: up to where it was before the first signal, then
 *   unlimited again).
 *
 * A grant is held by its holder (the task) until {@link RateLimiter.release}: the attempt ended.
 */

/** The limits of one key (the config's `rateLimits.<key>`). */
export interface RateLimit {
  requestsPerMinute?: number | undefined;
  tokensPerMinute?: number | undefined;
  maxConcurrent?: number | undefined;
  /** The window the per-minute counts apply to (default 60 000 ms; shorter in tests). */
  windowMs?: number | undefined;
}

/** Why a start waits. */
export type WaitReason = 'cooldown' | 'requests' | 'tokens' | 'concurrency';

export type RateDecision = { granted: true } | { granted: false; retryAfterMs: number; reason: WaitReason };

/** A key's state, for status, metrics and the summary. */
export interface RateKeyState {
  key: string;
  /** ISO time the cooldown ends, or null. */
  cooldownUntil: string | null;
  /** The concurrency AIMD allows now (null: unlimited). */
  concurrency: number | null;
  inFlight: number;
  /** Starts in the current window / the limit (null: none set). */
  windowStarts: number;
  requestsPerMinute: number | null;
  /** Tokens used in the current window / the limit. */
  windowTokens: number;
  tokensPerMinute: number | null;
  granted: number;
  waits: number;
  signals: number;
}

const DEFAULT_WINDOW_MS = 60_000;

interface KeyState {
  limit: RateLimit;
  /** Times of the grants in the current window, oldest first. */
  starts: number[];
  /** [time, tokens] used in the current window, oldest first. */
  used: Array<[number, number]>;
  holders: Set<string>;
  cooldownUntil: number;
  /** The AIMD limit, or null while unlimited. */
  concurrency: number | null;
  /** Where AIMD climbs back to when no `maxConcurrent` is set. */
  ceiling: number | null;
  lastSignalAt: number;
  lastStepAt: number;
  granted: number;
  waits: number;
  signals: number;
}

export class RateLimiter {
  private readonly keys = new Map<string, KeyState>();
  /** Which key each holder's grant is on. */
  private readonly heldBy = new Map<string, string>();

  constructor(limits: Readonly<Record<string, RateLimit>> = {}) {
    this.configure(limits);
  }

  /** New limits (a config reload): state is kept for keys that stay; keys no longer named are limited no more. */
  configure(limits: Readonly<Record<string, RateLimit>>): void {
    for (const key of [...this.keys.keys()]) if (!(key in limits)) this.keys.delete(key);
    for (const [key, limit] of Object.entries(limits)) {
      const state = this.keys.get(key);
      if (state === undefined) this.keys.set(key, freshState(limit));
      else {
        state.limit = limit;
        if (limit.maxConcurrent !== undefined && (state.concurrency === null || state.concurrency > limit.maxConcurrent)) state.concurrency = limit.maxConcurrent;
        if (limit.maxConcurrent === undefined && state.signals === 0) state.concurrency = null;
      }
    }
  }

  /** True when `key` has limits. */
  limits(key: string | null | undefined): key is string {
    return key !== null && key !== undefined && this.keys.has(key);
  }

  /**
   * May `holder` start an attempt on `key` now? A grant counts against the window and is
   * held (concurrency) until {@link release}. A holder asking again while it holds a grant
   * on the key is granted without counting twice (the worker confirming what dispatch took),
   * unless a cooldown began since.
   */
  request(key: string, holder: string, now: number): RateDecision {
    const state = this.keys.get(key);
    if (state === undefined) return { granted: true };
    this.step(state, now);
    if (state.cooldownUntil > now) return this.wait(state, state.cooldownUntil - now, 'cooldown');
    if (this.heldBy.get(holder) === key) return { granted: true };
    const window = state.limit.windowMs ?? DEFAULT_WINDOW_MS;
    const rpm = state.limit.requestsPerMinute;
    if (rpm !== undefined && state.starts.length >= rpm) {
      return this.wait(state, (state.starts[state.starts.length - rpm] as number) + window - now, 'requests');
    }
    const tpm = state.limit.tokensPerMinute;
    if (tpm !== undefined) {
      let total = state.used.reduce((sum, [, tokens]) => sum + tokens, 0);
      if (total >= tpm) {
        // Wait until enough of the window's usage has aged out to bring it under the limit.
        let at = now;
        for (const [time, tokens] of state.used) {
          total -= tokens;
          at = time + window;
          if (total < tpm) break;
        }
        return this.wait(state, at - now, 'tokens');
      }
    }
    if (state.concurrency !== null && state.holders.size >= state.concurrency) {
      // A slot frees when an attempt ends (release), or when AIMD gives one back.
      return this.wait(state, Math.max(1, window - (now - state.lastStepAt)), 'concurrency');
    }
    state.starts.push(now);
    state.holders.add(holder);
    this.heldBy.set(holder, key);
    state.granted += 1;
    return { granted: true };
  }

  /** The key of the grant `holder` holds, if any. */
  keyHeldBy(holder: string): string | undefined {
    return this.heldBy.get(holder);
  }

  /** The holder's attempt ended: its concurrency slot is free (no-op if it held none). */
  release(holder: string): void {
    const key = this.heldBy.get(holder);
    if (key === undefined) return;
    this.heldBy.delete(holder);
    this.keys.get(key)?.holders.delete(holder);
  }

  /** Tokens an attempt on `key` used (input + output), counted in the current window. */
  consume(key: string, tokens: number, now: number): void {
    const state = this.keys.get(key);
    if (state === undefined || tokens <= 0) return;
    this.step(state, now);
    state.used.push([now, tokens]);
  }

  /**
   * The provider said the key is limited until `until` (epoch ms): every start on it waits
   * until then, and its concurrency is halved (at least 1).
   */
  signal(key: string, until: number, now: number): void {
    const state = this.keys.get(key);
    if (state === undefined) return;
    this.step(state, now);
    state.cooldownUntil = Math.max(state.cooldownUntil, until);
    const current = state.concurrency ?? Math.max(1, state.holders.size);
    if (state.concurrency === null) state.ceiling = current;
    state.concurrency = Math.max(1, Math.floor(current / 2));
    state.lastSignalAt = now;
    state.lastStepAt = now;
    state.signals += 1;
  }

  /** When the next waiting start on any key may go (ms from now), or null if none waits on time. */
  nextChangeMs(now: number): number | null {
    let next: number | null = null;
    for (const state of this.keys.values()) {
      const window = state.limit.windowMs ?? DEFAULT_WINDOW_MS;
      const candidates = [state.cooldownUntil > now ? state.cooldownUntil - now : null, state.starts[0] !== undefined ? state.starts[0] + window - now : null];
      for (const c of candidates) if (c !== null && c > 0 && (next === null || c < next)) next = c;
    }
    return next;
  }

  /** Every key's state. */
  state(now: number): RateKeyState[] {
    return [...this.keys].map(([key, state]) => {
      this.step(state, now);
      return {
        key,
        cooldownUntil: state.cooldownUntil > now ? new Date(state.cooldownUntil).toISOString() : null,
        concurrency: state.concurrency,
        inFlight: state.holders.size,
        windowStarts: state.starts.length,
        requestsPerMinute: state.limit.requestsPerMinute ?? null,
        windowTokens: state.used.reduce((sum, [, tokens]) => sum + tokens, 0),
        tokensPerMinute: state.limit.tokensPerMinute ?? null,
        granted: state.granted,
        waits: state.waits,
        signals: state.signals,
      };
    });
  }

  private wait(state: KeyState, retryAfterMs: number, reason: WaitReason): RateDecision {
    state.waits += 1;
    return { granted: false, retryAfterMs: Math.max(1, Math.ceil(retryAfterMs)), reason };
  }

  /** Ages the window out, and gives AIMD's concurrency back one per quiet window. */
  private step(state: KeyState, now: number): void {
    const window = state.limit.windowMs ?? DEFAULT_WINDOW_MS;
    while (state.starts.length > 0 && (state.starts[0] as number) <= now - window) state.starts.shift();
    while (state.used.length > 0 && (state.used[0] as [number, number])[0] <= now - window) state.used.shift();
    if (state.concurrency === null || state.signals === 0) return;
    const from = Math.max(state.lastStepAt, state.cooldownUntil);
    const steps = Math.floor((now - from) / window);
    if (steps <= 0) return;
    state.lastStepAt = from + steps * window;
    const top = state.limit.maxConcurrent ?? state.ceiling;
    const next = state.concurrency + steps;
    if (top === null || top === undefined) state.concurrency = next;
    else if (next >= top) state.concurrency = state.limit.maxConcurrent ?? null;
    else state.concurrency = next;
  }
}

function freshState(limit: RateLimit): KeyState {
  return {
    limit, starts: [], used: [], holders: new Set(), cooldownUntil: 0, concurrency: limit.maxConcurrent ?? null, ceiling: null,
    lastSignalAt: 0, lastStepAt: 0, granted: 0, waits: 0, signals: 0,
  };
}
