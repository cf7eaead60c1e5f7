import { describe, expect, it } from 'vitest';
import { isDispatchable, planClaim, planPromotions } from '../../src/lifecycle/claim.js';
import { T0, iso, row, spec } from './helpers.js';

const claimant = { nodeId: 'host-a', workerId: 'w3', lease: 'L', expiresAt: T0 + 15_000, now: T0 };

describe('planClaim', () => {
  it('opens the next attempt under the lease, with node, worker and expiry, safe to lose', () => {
    const plan = planClaim(row(spec('a'), { status: 'ready', attemptCount: 2 }), { ...claimant, capabilities: [] });
    expect(plan.answer).toBe(3);
    expect(plan.writes.tasks).toEqual([expect.objectContaining({ status: 'assigned', lease: 'L', leaseExpiresAt: T0 + 15_000, worker: 'w3', node: 'host-a', attemptCount: 3 })]);
    expect(plan.writes.attempts).toEqual([{
      taskId: 'a', attempt: 3, node: 'host-a', worker: 'w3', lease: 'L', assignedAt: iso(T0),
      startedAt: null, finishedAt: null, exitCode: null, code: null, message: null, session: null, usage: null,
    }]);
    expect(plan.writes.relaxed).toBe(true);
    expect(plan.events).toEqual([{ at: T0, type: 'task.claimed', taskId: 'a', nodeId: 'host-a', data: { attempt: 3, worker: 'w3', expiresAt: T0 + 15_000 } }]);
  });

  it('gives a worker only a task whose needs are a subset of its capabilities', () => {
    const both = row(spec('both', { needs: ['net', 'gpu'] }), { status: 'ready' });
    expect(planClaim(both, { ...claimant, capabilities: [] }).answer).toBeNull();
    expect(planClaim(both, { ...claimant, capabilities: ['net'] }).answer).toBeNull();
    expect(planClaim(both, { ...claimant, capabilities: ['gpu', 'net', 'disk'] }).answer).toBe(1);
    expect(planClaim(row(spec('plain'), { status: 'ready' }), { ...claimant, capabilities: ['gpu'] }).answer).toBe(1);
  });

  it('refuses, changing nothing, a task that is not ready', () => {
    for (const status of ['pending', 'assigned', 'failed', 'complete'] as const) {
      const plan = planClaim(row(spec('a'), { status }), { ...claimant, capabilities: [] });
      expect(plan.answer).toBeNull();
      expect(plan.writes.tasks).toEqual([]);
      expect(plan.events).toEqual([]);
    }
  });
});

describe('isDispatchable', () => {
  it('hands out a ready task once its readyAt has passed: at once when it has none', () => {
    expect(isDispatchable({ status: 'ready', readyAt: 0 }, T0)).toBe(true);
    expect(isDispatchable({ status: 'ready', readyAt: T0 }, T0)).toBe(true);
    expect(isDispatchable({ status: 'ready', readyAt: T0 + 1 }, T0)).toBe(false);
    expect(isDispatchable({ status: 'failed', readyAt: 0 }, T0)).toBe(false);
    expect(planClaim(row(spec('later'), { status: 'ready', readyAt: T0 + 1 }), { ...claimant, capabilities: [] }).answer).toBeNull();
  });
});

describe('planPromotions', () => {
  it('makes ready only the retries whose backoff has passed, unlogged', () => {
    const due = row(spec('due'), { status: 'failed', readyAt: T0 });
    const later = row(spec('later'), { status: 'failed', readyAt: T0 + 1 });
    const plan = planPromotions([due, later], T0);
    expect(plan.writes.tasks.map((r) => [r.id, r.status])).toEqual([['due', 'ready']]);
    expect(plan.events).toEqual([]);
    expect(plan.writes.relaxed).toBe(true);
  });
});
