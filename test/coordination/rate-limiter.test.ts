import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../src/coordination/rate-limiter.js';

const W = 60_000;

describe('RateLimiter: starts per window', () => {
  it('never lets more than requestsPerMinute start in any window, and says when the next may', () => {
    const limiter = new RateLimiter({ api: { requestsPerMinute: 3 } });
    const starts: number[] = [];
    // Ask every second for five minutes; each granted holder ends at once.
    for (let t = 0; t < 5 * W; t += 1_000) {
      const decision = limiter.request('api', `t${t}`, t);
      if (decision.granted) {
        starts.push(t);
        limiter.release(`t${t}`);
      } else expect(decision.reason).toBe('requests');
    }
    for (const s of starts) expect(starts.filter((x) => x >= s && x < s + W).length).toBeLessThanOrEqual(3);
    expect(starts.length).toBe(15);
  });

  it('answers the wait as the time the oldest start in the window ages out', () => {
    const limiter = new RateLimiter({ api: { requestsPerMinute: 2 } });
    expect(limiter.request('api', 'a', 0).granted).toBe(true);
    expect(limiter.request('api', 'b', 10_000).granted).toBe(true);
    expect(limiter.request('api', 'c', 20_000)).toEqual({ granted: false, retryAfterMs: 40_000, reason: 'requests' });
    expect(limiter.request('api', 'c', 60_000).granted).toBe(true);
  });

  it('grants a holder that already holds a grant on the key again without counting it twice', () => {
    const limiter = new RateLimiter({ api: { requestsPerMinute: 1 } });
    expect(limiter.request('api', 'a', 0).granted).toBe(true);
    expect(limiter.request('api', 'a', 5).granted).toBe(true);
    expect(limiter.state(5)[0]?.windowStarts).toBe(1);
  });

  it('lets keys without limits through, and honours a shorter window', () => {
    const limiter = new RateLimiter({ api: { requestsPerMinute: 1, windowMs: 1_000 } });
    expect(limiter.request('other', 'x', 0).granted).toBe(true);
    expect(limiter.limits('other')).toBe(false);
    expect(limiter.request('api', 'a', 0).granted).toBe(true);
    expect(limiter.request('api', 'b', 500)).toMatchObject({ granted: false, retryAfterMs: 500 });
    expect(limiter.request('api', 'b', 1_000).granted).toBe(true);
  });
});

describe('RateLimiter: tokens per window', () => {
  it('holds new starts while the window has used its tokens, until enough ages out', () => {
    const limiter = new RateLimiter({ api: { tokensPerMinute: 1_000 } });
    expect(limiter.request('api', 'a', 0).granted).toBe(true);
    limiter.consume('api', 600, 1_000);
    limiter.consume('api', 600, 2_000);
    expect(limiter.request('api', 'b', 3_000)).toEqual({ granted: false, retryAfterMs: 58_000, reason: 'tokens' });
    expect(limiter.request('api', 'b', 61_000).granted).toBe(true);
  });
});

describe('RateLimiter: concurrency and AIMD', () => {
  it('holds a start while maxConcurrent grants are held, and frees the slot on release', () => {
    const limiter = new RateLimiter({ api: { maxConcurrent: 2 } });
    expect(limiter.request('api', 'a', 0).granted).toBe(true);
    expect(limiter.request('api', 'b', 0).granted).toBe(true);
    expect(limiter.request('api', 'c', 0)).toMatchObject({ granted: false, reason: 'concurrency' });
    limiter.release('a');
    expect(limiter.request('api', 'c', 1).granted).toBe(true);
  });

  it('a signal puts every start in cooldown until the reset and halves the concurrency; one comes back per quiet window', () => {
    const limiter = new RateLimiter({ api: { maxConcurrent: 8 } });
    for (const h of ['a', 'b', 'c']) expect(limiter.request('api', h, 0).granted).toBe(true);
    limiter.signal('api', 30_000, 1_000);
    expect(limiter.request('api', 'd', 2_000)).toEqual({ granted: false, retryAfterMs: 28_000, reason: 'cooldown' });
    // Even a holder confirming its grant waits out a cooldown that began after it.
    expect(limiter.request('api', 'a', 2_000)).toMatchObject({ granted: false, reason: 'cooldown' });
    expect(limiter.state(2_000)[0]).toMatchObject({ concurrency: 4, cooldownUntil: new Date(30_000).toISOString(), signals: 1 });
    expect(limiter.state(30_000 + W)[0]?.concurrency).toBe(5);
    expect(limiter.state(30_000 + 4 * W)[0]?.concurrency).toBe(8);
    expect(limiter.state(30_000 + 10 * W)[0]?.concurrency).toBe(8);
  });

  it('without maxConcurrent, halves what is in flight and climbs back to it, then is unlimited again', () => {
    const limiter = new RateLimiter({ api: {} });
    for (const h of ['a', 'b', 'c', 'd']) expect(limiter.request('api', h, 0).granted).toBe(true);
    limiter.signal('api', 0, 0);
    expect(limiter.state(0)[0]?.concurrency).toBe(2);
    for (const h of ['a', 'b', 'c', 'd']) limiter.release(h);
    expect(limiter.request('api', 'e', 1).granted).toBe(true);
    expect(limiter.request('api', 'f', 1).granted).toBe(true);
    expect(limiter.request('api', 'g', 1)).toMatchObject({ granted: false, reason: 'concurrency' });
    expect(limiter.state(W)[0]?.concurrency).toBe(3);
    expect(limiter.state(2 * W)[0]?.concurrency).toBeNull();
  });

  it('two signals halve twice, never below 1', () => {
    const limiter = new RateLimiter({ api: { maxConcurrent: 3 } });
    limiter.signal('api', 10, 0);
    limiter.signal('api', 10, 1);
    limiter.signal('api', 10, 2);
    expect(limiter.state(3)[0]?.concurrency).toBe(1);
  });
});

describe('RateLimiter: reconfiguring and the next wake-up', () => {
  it('keeps the state of a key that stays and forgets a key no longer named', () => {
    const limiter = new RateLimiter({ api: { requestsPerMinute: 1 }, other: { requestsPerMinute: 1 } });
    limiter.request('api', 'a', 0);
    limiter.configure({ api: { requestsPerMinute: 2 } });
    expect(limiter.request('api', 'b', 1).granted).toBe(true);
    expect(limiter.request('api', 'c', 2).granted).toBe(false);
    expect(limiter.limits('other')).toBe(false);
  });

  it('says when the earliest waiting start may go', () => {
    const limiter = new RateLimiter({ api: { requestsPerMinute: 1 }, b: {} });
    expect(limiter.nextChangeMs(0)).toBeNull();
    limiter.request('api', 'a', 0);
    limiter.signal('b', 5_000, 0);
    expect(limiter.nextChangeMs(1_000)).toBe(4_000);
    expect(limiter.nextChangeMs(6_000)).toBe(54_000);
  });
});
