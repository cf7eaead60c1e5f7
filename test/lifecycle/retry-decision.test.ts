import { describe, expect, it } from 'vitest';
import { decideRetry, retryDecision } from '../../src/lifecycle/retry-decision.js';
import { DEFAULT_BACKOFF } from '../../src/lifecycle/retry-delay.js';
import { T0, row, spec } from './helpers.js';

const options = { maxAttempts: 3, backoff: DEFAULT_BACKOFF, maxReleases: 3, maxRateLimitWaits: 5, random: () => 0.5 };
const failing = (code: 'TASK_EXIT_NONZERO' | 'TASK_SPAWN_FAILED' | 'LEASE_EXPIRED' = 'TASK_EXIT_NONZERO', retryable = true) =>
  ({ code, retryable, retryAfterMs: null, now: T0 });

describe('decideRetry', () => {
  it('waits out an exponential backoff with full jitter while attempts remain, then goes dead', () => {
    // cap 1000 ms then 2000 ms; jitter 0.5
    expect(decideRetry({ attemptsCounted: 1, maxAttempts: 3, policy: DEFAULT_BACKOFF, failure: failing(), random: () => 0.5 })).toEqual({ status: 'failed', readyAt: T0 + 500 });
    expect(decideRetry({ attemptsCounted: 2, maxAttempts: 3, policy: DEFAULT_BACKOFF, failure: failing(), random: () => 0.5 })).toEqual({ status: 'failed', readyAt: T0 + 1000 });
    expect(decideRetry({ attemptsCounted: 3, maxAttempts: 3, policy: DEFAULT_BACKOFF, failure: failing(), random: () => 0.5 })).toEqual({ status: 'dead', readyAt: null });
  });

  it('honours retryAfterMs as a floor and retries at once on a zero delay', () => {
    const policy = { initialMs: 100, maxMs: 100, factor: 3 };
    expect(decideRetry({ attemptsCounted: 1, maxAttempts: 5, policy, failure: { ...failing(), retryAfterMs: 2_500 }, random: () => 0 })).toEqual({ status: 'failed', readyAt: T0 + 2_500 });
    expect(decideRetry({ attemptsCounted: 1, maxAttempts: 5, policy, failure: failing(), random: () => 0 })).toEqual({ status: 'ready', readyAt: T0 });
  });

  it('retries only what the report and the code\'s policy both call retryable, drawing no jitter otherwise', () => {
    let draws = 0;
    const random = (): number => {
      draws += 1;
      return 0.5;
    };
    const input = { attemptsCounted: 1, maxAttempts: 5, policy: DEFAULT_BACKOFF, random };
    expect(decideRetry({ ...input, failure: failing('TASK_EXIT_NONZERO', false) }).status).toBe('dead');
    // TASK_SPAWN_FAILED is not retryable by policy: a report cannot widen that.
    expect(decideRetry({ ...input, failure: failing('TASK_SPAWN_FAILED', true) }).status).toBe('dead');
    expect(draws).toBe(0);
    expect(decideRetry({ ...input, failure: failing('LEASE_EXPIRED', true) }).status).toBe('failed');
    expect(draws).toBe(1);
  });
});

describe('retryDecision', () => {
  it('counts attempts since the last redrive, and lets the spec\'s maxAttempts and backoff win over the store\'s', () => {
    const redriven = row(spec('a'), { attemptCount: 3, attemptBase: 2 });
    expect(retryDecision(redriven, failing(), options).status).toBe('failed');
    expect(retryDecision(row(spec('b', { maxAttempts: 1 }), { attemptCount: 1 }), failing(), options).status).toBe('dead');
    const own = row(spec('c', { backoff: { initialMs: 10, maxMs: 10, factor: 1 } }), { attemptCount: 1 });
    expect(retryDecision(own, failing(), options)).toEqual({ status: 'failed', readyAt: T0 + 5 });
  });
});
