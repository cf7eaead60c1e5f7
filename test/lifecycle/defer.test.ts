import { describe, expect, it } from 'vitest';
import { planClaim } from '../../src/lifecycle/claim.js';
import { isDyingOnDeferral, planDefer } from '../../src/lifecycle/defer.js';
import { isLeaseCurrent } from '../../src/lifecycle/leases.js';
import type { Deferral } from '../../src/lifecycle/outcomes.js';
import { rateLimitVerdict } from '../../src/lifecycle/rate-limit-budget.js';
import { planRedrive } from '../../src/lifecycle/redrive.js';
import { NO_SUBGRAPH } from '../../src/lifecycle/rows.js';
import { T0, Tables, complete, iso, spec, start, submit } from './helpers.js';

const session = { agent: 'claude', id: 'sess-1' };
const usage = { inputTokens: 1200, outputTokens: 340, cacheReadTokens: 5000, cacheWriteTokens: 0, costUsd: 0.0125 };

/** A rate-limit deferral at `now` until `until`, with the run's session and usage. */
const deferral = (now: number, until: number): Deferral => ({
  now, until, reason: 'rate limited: claude', error: { code: 'RATE_LIMITED', message: '429: usage limit reached' }, session, usage,
});

/** Defers the in-flight `id` as a store does: the graph read only when the deferral kills. */
function defer(t: Tables, id: string, now: number, until: number, maxRateLimitWaits = 5) {
  const rows = t.rows(id);
  const graph = isDyingOnDeferral(rows.task, maxRateLimitWaits) ? t.graph() : NO_SUBGRAPH;
  return t.apply(planDefer(rows, graph, deferral(now, until), maxRateLimitWaits));
}

describe('rateLimitVerdict', () => {
  it('lets a task wait maxRateLimitWaits times; the next limit kills it', () => {
    expect(rateLimitVerdict(0, 5)).toEqual({ rateLimitWaits: 1, dead: false });
    expect(rateLimitVerdict(4, 5)).toEqual({ rateLimitWaits: 5, dead: false });
    expect(rateLimitVerdict(5, 5)).toEqual({ rateLimitWaits: 6, dead: true });
    expect(rateLimitVerdict(0, 0)).toEqual({ rateLimitWaits: 1, dead: true });
  });
});

describe('planDefer', () => {
  it('returns the task to ready due at `until` without using an attempt, keeping the start with its session and usage', () => {
    const t = new Tables();
    submit(t, [spec('a', { maxAttempts: 1 })]);
    expect(start(t, 'a', 'L1', T0)).toBe(1);
    const from = t.events.length;
    expect(defer(t, 'a', T0 + 5, T0 + 60_000)).toEqual({ status: 'ready', retryAt: T0 + 60_000, blocked: [] });
    expect(t.task('a')).toMatchObject({
      status: 'ready', readyAt: T0 + 60_000, attemptCount: 0, releases: 1, crashReleases: 0, rateLimitWaits: 1,
      lease: null, leaseExpiresAt: null, worker: null, node: null, startedAt: null,
      error: { code: 'RATE_LIMITED', message: '429: usage limit reached' },
    });
    expect(t.rows('a').attempts).toEqual([]);
    expect(t.releases).toEqual([{
      taskId: 'a', seq: 1, attempt: 1, node: 'n1', worker: 'w1', lease: 'L1', assignedAt: iso(T0), startedAt: iso(T0),
      releasedAt: iso(T0 + 5), reason: 'rate limited: claude', crash: false, session, usage,
    }]);
    expect(t.eventLines(from)).toEqual(['task.released:a', 'task.deferred:a']);
    expect(t.events.at(-1)).toEqual({
      at: T0 + 5, type: 'task.deferred', taskId: 'a', nodeId: 'n1',
      data: { attempt: 1, until: T0 + 60_000, reason: 'rate limited: claude', code: 'RATE_LIMITED', message: '429: usage limit reached', rateLimitWaits: 1 },
    });
    // The old lease is fenced off, and no claim takes the task before the limit resets.
    expect(isLeaseCurrent(t.task('a'), 'L1')).toBe(false);
    const claimAt = (now: number) => planClaim(t.task('a'), { nodeId: 'n1', workerId: 'w1', capabilities: [], lease: 'L2', expiresAt: now + 1000, now });
    expect(claimAt(T0 + 59_999).answer).toBeNull();
    expect(claimAt(T0 + 59_999).writes.tasks).toEqual([]);
    // Then it runs under the same attempt number: the deferred start did not count.
    expect(start(t, 'a', 'L2', T0 + 60_000)).toBe(1);
    complete(t, 'a', T0 + 60_001);
    expect(t.task('a')).toMatchObject({ status: 'complete', rateLimitWaits: 1, error: null });
  });

  it('counts the waits, and the one past maxRateLimitWaits ends the task dead with RATE_LIMITED, blocking its dependents', () => {
    const t = new Tables();
    submit(t, [spec('k'), spec('k2', { deps: ['k'] }), spec('k3', { deps: ['k2'] }), spec('free')]);
    let now = T0;
    for (let wait = 1; wait <= 2; wait += 1) {
      start(t, 'k', `L${wait}`, (now += 100));
      expect(defer(t, 'k', now + 1, now + 50, 2)).toEqual({ status: 'ready', retryAt: now + 50, blocked: [] });
      expect(t.task('k')).toMatchObject({ status: 'ready', rateLimitWaits: wait });
    }
    start(t, 'k', 'L3', (now += 100));
    const from = t.events.length;
    expect(defer(t, 'k', now + 1, now + 50, 2)).toEqual({ status: 'dead', retryAt: null, blocked: ['k2', 'k3'] });
    expect(t.task('k')).toMatchObject({
      status: 'dead', rateLimitWaits: 3, attemptCount: 0, releases: 3, lease: null, node: null, finishedAt: iso(now + 1),
      error: {
        code: 'RATE_LIMITED',
        details: { rateLimitWaits: 3, maxRateLimitWaits: 2, last: { code: 'RATE_LIMITED', message: '429: usage limit reached' } },
      },
    });
    for (const id of ['k2', 'k3']) expect(t.task(id)).toMatchObject({ status: 'blocked', error: { message: 'dependency "k" is dead' } });
    expect(t.task('free').status).toBe('ready');
    expect(t.eventLines(from)).toEqual(['task.released:k', 'task.failed:k', 'task.blocked:k2', 'task.blocked:k3']);
    expect(t.events[from + 1]?.data).toMatchObject({ attempt: 1, code: 'RATE_LIMITED', status: 'dead', retryAt: null });
    // Every start is in the history, none counted.
    expect(t.releases.map((r) => [r.attempt, r.session?.id])).toEqual([[1, 'sess-1'], [1, 'sess-1'], [1, 'sess-1']]);
    expect(t.rows('k').attempts).toEqual([]);

    // Redrive: a fresh count, ready at once, its dependents back.
    expect(t.apply(planRedrive(t.task('k'), t.graph(), now + 10))).toEqual(['k', 'k2', 'k3']);
    expect(t.task('k')).toMatchObject({ status: 'ready', rateLimitWaits: 0, readyAt: 0, error: null });
    start(t, 'k', 'L4', now + 20);
    expect(defer(t, 'k', now + 21, now + 70, 2).status).toBe('ready');
    expect(t.task('k').rateLimitWaits).toBe(1);
  });

  it('names a task one more deferral kills', () => {
    const t = new Tables();
    submit(t, [spec('a')]);
    expect(isDyingOnDeferral(t.task('a'), 1)).toBe(false);
    start(t, 'a', 'L1');
    defer(t, 'a', T0 + 1, T0 + 2, 1);
    expect(isDyingOnDeferral(t.task('a'), 1)).toBe(true);
  });
});
