import { describe, expect, it } from 'vitest';
import { planCancel } from '../../src/lifecycle/block.js';
import { planFail } from '../../src/lifecycle/fail.js';
import { planRedrive } from '../../src/lifecycle/redrive.js';
import { T0, Tables, failure, spec, start, submit } from './helpers.js';

describe('planRedrive', () => {
  it('brings a dead task back with a fresh budget, and what its death blocked, unless blocked for another reason', () => {
    const t = new Tables();
    submit(t, [
      spec('a'), spec('b', { deps: ['a'] }), spec('c', { deps: ['b'] }), spec('d', { deps: ['a', 'x'] }), spec('x'), spec('k', { deps: ['a'] }),
    ]);
    t.apply(planCancel(t.rows('k'), t.graph(), T0));
    for (const id of ['a', 'x']) {
      start(t, id, `L-${id}`);
      t.apply(planFail(t.rows(id), t.graph(), failure(T0, { retryable: false }), { status: 'dead', readyAt: null }));
    }
    const from = t.events.length;
    expect(t.apply(planRedrive(t.task('a'), t.graph(), T0 + 10))).toEqual(['a', 'b', 'c']);
    expect(t.task('a')).toMatchObject({ status: 'ready', attemptBase: 1, attemptCount: 1, crashReleases: 0, error: null, exitCode: null, finishedAt: null, readyAt: 0 });
    expect(t.task('b')).toMatchObject({ status: 'pending', error: null, finishedAt: null });
    expect(t.task('c').status).toBe('pending');
    expect(t.task('d').status).toBe('blocked'); // x is still dead
    expect(t.task('k').status).toBe('cancelled');
    expect(t.eventLines(from)).toEqual(['task.redriven:a', 'task.unblocked:b', 'task.unblocked:c']);
    expect(t.events[from]?.data).toEqual({ attemptBase: 1 });
  });

  it('changes nothing for a task that is not dead', () => {
    const t = new Tables();
    submit(t, [spec('a')]);
    expect(planRedrive(t.task('a'), t.graph(), T0).writes.tasks).toEqual([]);
  });
});
