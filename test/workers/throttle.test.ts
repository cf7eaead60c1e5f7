import { describe, expect, it } from 'vitest';
import { createThrottle, type ThrottleClock } from '../../workers/throttle.js';

function fakeClock(): ThrottleClock & { advance(ms: number): void } {
  let now = 0;
  let timers: Array<{ at: number; fn: () => void; id: number }> = [];
  let nextId = 1;
  return {
    now: () => now,
    setTimeout(fn, ms) {
      const id = nextId++;
      timers.push({ at: now + ms, fn, id });
      return id;
    },
    clearTimeout(handle) {
      timers = timers.filter((timer) => timer.id !== handle);
    },
    advance(ms) {
      now += ms;
      const due = timers.filter((timer) => timer.at <= now);
      timers = timers.filter((timer) => timer.at > now);
      for (const timer of due) timer.fn();
    },
  };
}

describe('createThrottle', () => {
  it('reports the first value at once, then at most once per interval, keeping the latest', () => {
    const clock = fakeClock();
    const seen: number[] = [];
    const throttle = createThrottle(500, (value: number) => seen.push(value), clock);
    throttle.push(1);
    expect(seen).toEqual([1]);
    clock.advance(100);
    throttle.push(2);
    throttle.push(3);
    expect(seen).toEqual([1]);
    clock.advance(400);
    expect(seen).toEqual([1, 3]);
    clock.advance(1_000);
    throttle.push(4);
    expect(seen).toEqual([1, 3, 4]);
  });

  it('flush reports a pending value now; cancel drops it', () => {
    const clock = fakeClock();
    const seen: number[] = [];
    const throttle = createThrottle(500, (value: number) => seen.push(value), clock);
    throttle.push(1);
    throttle.push(2);
    throttle.flush();
    expect(seen).toEqual([1, 2]);
    clock.advance(10);
    throttle.push(3);
    throttle.cancel();
    clock.advance(1_000);
    expect(seen).toEqual([1, 2]);
    throttle.flush();
    expect(seen).toEqual([1, 2]);
  });
});
