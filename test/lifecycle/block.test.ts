import { describe, expect, it } from 'vitest';
import { planBlock, planCancel } from '../../src/lifecycle/block.js';
import { T0, Tables, claim, iso, spec, start, submit } from './helpers.js';

const conflict = { code: 'DEP_CONFLICT', message: 'deps conflict in x.ts', details: { files: ['x.ts'] } } as const;

describe('planBlock', () => {
  it('blocks an assigned task (a dependency conflict), taking its claim back (no attempt counted) and revoking its lease, then its dependents', () => {
    const t = new Tables();
    submit(t, [spec('a'), spec('b', { deps: ['a'] })]);
    claim(t, 'a', 'L');
    const from = t.events.length;
    expect(t.apply(planBlock(t.rows('a'), t.graph(), conflict, T0 + 1))).toEqual(['a', 'b']);
    expect(t.task('a')).toMatchObject({ status: 'blocked', error: conflict, lease: null, leaseExpiresAt: null, finishedAt: iso(T0 + 1), attemptCount: 0, releases: 1 });
    expect(t.rows('a').attempts).toEqual([]);
    expect(t.task('b').error).toMatchObject({ code: 'DEP_DEAD', message: 'dependency "a" is blocked' });
    expect(t.eventLines(from)).toEqual(['task.released:a', 'task.blocked:a', 'task.blocked:b']);
  });

  it('changes nothing for a task that is neither ready nor assigned', () => {
    const t = new Tables();
    submit(t, [spec('a'), spec('b', { deps: ['a'] })]);
    start(t, 'a', 'L');
    for (const id of ['a', 'b']) {
      const plan = planBlock(t.rows(id), t.graph(), conflict, T0);
      expect(plan.answer).toEqual([]);
      expect(plan.writes.tasks).toEqual([]);
    }
  });
});

describe('planCancel', () => {
  it('cancels any task not terminal, revoking an in-flight lease, and blocks its dependents', () => {
    const t = new Tables();
    submit(t, [spec('a'), spec('b', { deps: ['a'] }), spec('c')]);
    start(t, 'c', 'L');
    expect(t.apply(planCancel(t.rows('a'), t.graph(), T0))).toEqual(['a', 'b']);
    expect(t.task('a')).toMatchObject({ status: 'cancelled', error: { code: 'TASK_CANCELLED', message: 'task "a" was cancelled' } });
    expect(t.task('b').error?.message).toBe('dependency "a" was cancelled');
    expect(t.apply(planCancel(t.rows('c'), t.graph(), T0))).toEqual(['c']);
    expect(t.task('c').lease).toBeNull();
    expect(t.rows('c').attempts[0]?.code).toBe('TASK_CANCELLED');
    expect(planCancel(t.rows('c'), t.graph(), T0).answer).toEqual([]);
  });
});
