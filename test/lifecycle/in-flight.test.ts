import { describe, expect, it } from 'vitest';
import { isLeaseCurrent, isLeaseExpired, leaseExpiredFailure, planExtendLeases } from '../../src/lifecycle/leases.js';
import { planReap } from '../../src/lifecycle/reap.js';
import { planStart } from '../../src/lifecycle/start.js';
import { T0, Tables, claim, iso, spec, start, submit } from './helpers.js';

describe('planStart', () => {
  it('starts an assigned task once, stamping the attempt and the first run', () => {
    const t = new Tables();
    submit(t, [spec('a')]);
    claim(t, 'a', 'L');
    expect(t.apply(planStart(t.rows('a'), T0 + 10))).toBe(true);
    expect(t.task('a')).toMatchObject({ status: 'running', startedAt: iso(T0 + 10) });
    expect(t.rows('a').attempts[0]?.startedAt).toBe(iso(T0 + 10));
    const again = planStart(t.rows('a'), T0 + 20);
    expect(again.answer).toBe(false);
    expect(again.events).toEqual([]);
  });
});

describe('leases', () => {
  it('fences by the current lease of an in-flight task only', () => {
    const t = new Tables();
    submit(t, [spec('a')]);
    expect(isLeaseCurrent(t.task('a'), 'L')).toBe(false);
    claim(t, 'a', 'L');
    expect(isLeaseCurrent(t.task('a'), 'L')).toBe(true);
    expect(isLeaseCurrent(t.task('a'), 'other')).toBe(false);
    expect(isLeaseExpired(t.task('a'), T0 + 999)).toBe(false);
    expect(isLeaseExpired(t.task('a'), T0 + 1000)).toBe(true);
  });

  it('extends only the leases still current, unlogged', () => {
    const t = new Tables();
    submit(t, [spec('a'), spec('b')]);
    claim(t, 'a', 'La');
    const plan = planExtendLeases([t.task('a'), t.task('b')], ['La', 'Lb', 'stale'], T0 + 5000);
    expect(plan.answer).toBe(1);
    expect(plan.writes.tasks).toEqual([expect.objectContaining({ id: 'a', leaseExpiresAt: T0 + 5000 })]);
    expect(plan.events).toEqual([]);
  });
});

describe('planReap', () => {
  it('fails each expired attempt with LEASE_EXPIRED, retrying or dead-lettering as decided, in the order given', () => {
    const t = new Tables();
    submit(t, [spec('a'), spec('b'), spec('after', { deps: ['b'] })]);
    start(t, 'a', 'La');
    start(t, 'b', 'Lb');
    const expiry = (id: string, decision: { status: 'ready'; readyAt: number } | { status: 'dead'; readyAt: null }) =>
      ({ rows: t.rows(id), failure: leaseExpiredFailure(t.task(id), T0 + 1000), decision });
    const reaped = t.apply(planReap([expiry('a', { status: 'ready', readyAt: T0 + 1000 }), expiry('b', { status: 'dead', readyAt: null })], t.graph()));
    expect(reaped).toEqual([
      { taskId: 'a', lease: 'La', nodeId: 'n1', workerId: 'w1', outcome: { status: 'ready', retryAt: T0 + 1000, blocked: [] } },
      { taskId: 'b', lease: 'Lb', nodeId: 'n1', workerId: 'w1', outcome: { status: 'dead', retryAt: null, blocked: ['after'] } },
    ]);
    expect(t.task('a')).toMatchObject({
      status: 'ready', lease: null, worker: null, node: null,
      error: { code: 'LEASE_EXPIRED', details: { node: 'n1', worker: 'w1', expiredAt: T0 + 1000 } },
    });
    expect(t.eventLines()).toContain('task.blocked:after');
  });
});
