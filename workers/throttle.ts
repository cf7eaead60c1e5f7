/**
 * A leading-and-trailing throttle for progress reports: the first value goes out at once,
 * later values at most once per interval, and the last value of a burst is never lost.
 */

/** A throttled reporter of the latest value. */
export interface Throttle<T> {
  /** Offers a new value; it is reported now or at the end of the current interval. */
  push(value: T): void;
  /** Reports a pending value now (if any) and stops the timer. */
  flush(): void;
  /** Drops a pending value and stops the timer. */
  cancel(): void;
}

/** Injectable clock and timers, so the throttle can be tested without waiting. */
export interface ThrottleClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realClock: ThrottleClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/**
 * Creates a throttle that calls `report` at most once per `intervalMs`.
 *
 * @example
 * const progress = createThrottle(500, (bytes: number) => send({ ...ref, type: 'coord:progress', outputBytes: bytes }));
 * progress.push(1024);
 */
export function createThrottle<T>(intervalMs: number, report: (value: T) => void, clock: ThrottleClock = realClock): Throttle<T> {
  let lastReportAt = Number.NEGATIVE_INFINITY;
  let pending: { value: T } | null = null;
  let timer: unknown = null;

  const emit = (): void => {
    timer = null;
    if (pending === null) return;
    const { value } = pending;
    pending = null;
    lastReportAt = clock.now();
    report(value);
  };

  return {
    push(value) {
      pending = { value };
      if (timer !== null) return;
      const wait = lastReportAt + intervalMs - clock.now();
      if (wait <= 0) emit();
      else timer = clock.setTimeout(emit, wait);
    },
    flush() {
      if (timer !== null) clock.clearTimeout(timer);
      emit();
    },
    cancel() {
      if (timer !== null) clock.clearTimeout(timer);
      timer = null;
      pending = null;
    },
  };
}
