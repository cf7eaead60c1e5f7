import { describe, expect, it } from 'vitest';
import { planPromotions } from '../../src/lifecycle/claim.js';
import { planFail } from '../../src/lifecycle/fail.js';
import { retryDecision } from '../../src/lifecycle/retry-decision.js';
import { DEFAULT_BACKOFF } from '../../src/lifecycle/retry-delay.js';
import { NO_SUBGRAPH } from '../../src/lifecycle/rows.js';
import { T0, Tables, claim, failure, iso, spec, start, submit } from './helpers.js';

const options = (maxAttempts: number, random = () => 0.5) => ({ maxAttempts, backoff: DEFAULT_BACKOFF, maxReleases: 3, maxRateLimitWaits: 5, random });

/** Fails the in-flight `id` as a store does: decision first, the graph read only for a death. */
function fail(t: Tables, id: string, now: number, maxAttempts: number, retryable = true) {
  const rows = t.rows(id);
  const decision = retryDecision(rows.task, failure(now, { retryable }), options(maxAttempts));
  return t.apply(planFail(rows, decision.status === 'dead' ? t.graph() : NO_SUBGRAPH, failure(now, { retryable }), decision));
}

describe('planFail', () => {
  it('retries after the backoff with the holder cleared, closing the attempt, until attempts run out: then dead', () => {
    const t = new Tables();
    submit(t, [spec('a')]);
    expect(start(t, 'a', 'L1', T0)).toBe(1);
    expect(fail(t, 'a', T0, 3)).toEqual({ status: 'failed', retryAt: T0 + 500, blocked: [] });
    expect(t.task('a')).toMatchObject({
      status: 'failed', readyAt: T0 + 500, lease: null, leaseExpiresAt: null, worker: null, node: null, exitCode: 1,
      error: { code: 'TASK_EXIT_NONZERO', message: 'exit 1' },
    });
    expect(t.rows('a').attempts[0]).toMatchObject({ attempt: 1, finishedAt: iso(T0), exitCode: 1, code: 'TASK_EXIT_NONZERO', message: 'exit 1' });

    expect(claim(t, 'a', 'early', T0 + 499)).toBeNull();
    t.apply(planPromotions([t.task('a')], T0 + 499));
    expect(t.task('a').status).toBe('failed');
    t.apply(planPromotions([t.task('a')], T0 + 500));
    expect(start(t, 'a', 'L2', T0 + 500)).toBe(2);
    expect(fail(t, 'a', T0 + 500, 3)?.retryAt).toBe(T0 + 1500);
    t.apply(planPromotions([t.task('a')], T0 + 1500));
    expect(start(t, 'a', 'L3', T0 + 1500)).toBe(3);
    expect(fail(t, 'a', T0 + 1500, 3)).toEqual({ status: 'dead', retryAt: null, blocked: [] });
    expect(t.task('a')).toMatchObject({ status: 'dead', finishedAt: iso(T0 + 1500), error: { code: 'TASK_EXIT_NONZERO' } });
    expect(t.rows('a').attempts.map((a) => a.code)).toEqual(['TASK_EXIT_NONZERO', 'TASK_EXIT_NONZERO', 'TASK_EXIT_NONZERO']);
  });

  it('blocks every transitive dependent of a dead task, breadth first and once each, logging the failure first', () => {
    const t = new Tables();
    submit(t, [spec('a'), spec('b', { deps: ['a'] }), spec('c', { deps: ['b'] }), spec('d', { deps: ['a', 'c'] }), spec('free')]);
    start(t, 'a', 'L');
    const from = t.events.length;
    expect(fail(t, 'a', T0, 3, false)).toEqual({ status: 'dead', retryAt: null, blocked: ['b', 'd', 'c'] });
    for (const id of ['b', 'c', 'd']) {
      expect(t.task(id)).toMatchObject({ status: 'blocked', finishedAt: iso(T0), error: { code: 'DEP_DEAD', message: 'dependency "a" is dead' } });
    }
    expect(t.task('free').status).toBe('ready');
    expect(t.eventLines(from)).toEqual(['task.failed:a', 'task.blocked:b', 'task.blocked:d', 'task.blocked:c']);
    expect(t.events[from]?.data).toMatchObject({ attempt: 1, code: 'TASK_EXIT_NONZERO', status: 'dead', retryAt: null });
  });

  it('keeps the failure\'s details on the error', () => {
    const t = new Tables();
    submit(t, [spec('a')]);
    claim(t, 'a', 'L');
    const rows = t.rows('a');
    t.apply(planFail(rows, t.graph(), { ...failure(T0, { retryable: false }), details: { hint: 'fix it' } }, { status: 'dead', readyAt: null }));
    expect(t.task('a').error).toEqual({ code: 'TASK_EXIT_NONZERO', message: 'exit 1', details: { hint: 'fix it' } });
  });

  it('keeps the agent session and usage the failure reports on the attempt, whether it retries or dies', () => {
    const t = new Tables();
    submit(t, [spec('a')]);
    start(t, 'a', 'L1');
    const session = { agent: 'codex', id: 'thread-9' };
    const usage = { inputTokens: 1, outputTokens: 2, cacheReadTokens: 0, cacheWriteTokens: 0, costUsd: null };
    const failed = { ...failure(T0), code: 'AGENT_FAILED' as const, session, usage };
    t.apply(planFail(t.rows('a'), NO_SUBGRAPH, failed, { status: 'ready', readyAt: T0 }));
    start(t, 'a', 'L2', T0 + 1);
    t.apply(planFail(t.rows('a'), t.graph(), { ...failed, now: T0 + 2, session: null }, { status: 'dead', readyAt: null }));
    expect(t.rows('a').attempts.map((a) => [a.attempt, a.code, a.session, a.usage])).toEqual([
      [1, 'AGENT_FAILED', session, usage],
      [2, 'AGENT_FAILED', null, usage],
    ]);
  });
});
