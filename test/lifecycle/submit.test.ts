import { describe, expect, it } from 'vitest';
import { isCoordError } from '../../src/errors.js';
import { planSubmit } from '../../src/lifecycle/submit.js';
import { T0, Tables, complete, failure, iso, row, spec, start, submit } from './helpers.js';
import { planFail } from '../../src/lifecycle/fail.js';
import { NO_SUBGRAPH } from '../../src/lifecycle/rows.js';

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (isCoordError(error)) return error.code;
    throw error;
  }
  return 'no error';
}

describe('planSubmit', () => {
  it('adds roots ready and the rest pending, counting each distinct unmet dependency once, after the last seq', () => {
    const plan = planSubmit([], { specs: [spec('b', { deps: ['a', 'a'] }), spec('a'), spec('c', { deps: ['a', 'b'] })], now: T0, lastSeq: 7 });
    expect(plan.answer).toEqual(['b', 'a', 'c']);
    expect(plan.writes.added.map(({ row: r, deps }) => [r.id, r.seq, r.status, r.unmetDeps, deps])).toEqual([
      ['b', 8, 'pending', 1, ['a']],
      ['a', 9, 'ready', 0, []],
      ['c', 10, 'pending', 2, ['a', 'b']],
    ]);
    expect(plan.events.map((e) => `${e.type}:${e.taskId}`)).toEqual(['task.submitted:b', 'task.submitted:a', 'task.submitted:c']);
  });

  it('treats an identical re-submission as a no-op, whatever the key order, and refuses a different spec under a known id', () => {
    const stored = row(spec('a', { env: { X: '1', Y: '2' } }));
    const again = { ...spec('a'), env: { Y: '2', X: '1' } };
    expect(planSubmit([stored], { specs: [again, spec('b', { deps: ['a'] })], now: T0, lastSeq: 1 }).answer).toEqual(['b']);
    expect(planSubmit([stored], { specs: [again], now: T0, lastSeq: 1 }).writes.added).toEqual([]);
    expect(codeOf(() => planSubmit([stored], { specs: [spec('new'), spec('a', { priority: 1 })], now: T0, lastSeq: 1 }))).toBe('TASK_EXISTS');
  });

  it('rejects graph errors whole, and accepts dependencies on stored tasks', () => {
    const stored = [row(spec('a'))];
    const plan = (specs: ReturnType<typeof spec>[]) => () => planSubmit(stored, { specs, now: T0, lastSeq: 1 });
    expect(codeOf(plan([spec('ok'), spec('b', { deps: ['x'] })]))).toBe('TASK_UNKNOWN_DEP');
    expect(codeOf(plan([spec('p', { deps: ['q'] }), spec('q', { deps: ['p'] })]))).toBe('TASK_CYCLE');
    expect(codeOf(plan([spec('d'), spec('d')]))).toBe('TASK_DUPLICATE_ID');
    expect(plan([spec('b', { deps: ['a'] })])().writes.added.map((a) => [a.row.id, a.row.status])).toEqual([['b', 'pending']]);
  });

  it('counts a stored dependency already complete as met, and blocks on one already dead, through the batch', () => {
    const t = new Tables();
    submit(t, [spec('done'), spec('doomed')]);
    start(t, 'done', 'L1');
    complete(t, 'done');
    start(t, 'doomed', 'L2');
    t.apply(planFail(t.rows('doomed'), NO_SUBGRAPH, failure(T0, { retryable: false }), { status: 'dead', readyAt: null }));
    const from = t.events.length;
    submit(t, [spec('x', { deps: ['done'] }), spec('y', { deps: ['doomed'] }), spec('z', { deps: ['y'] })], T0 + 5);
    expect(t.task('x').status).toBe('ready');
    for (const id of ['y', 'z']) {
      expect(t.task(id)).toMatchObject({
        status: 'blocked', finishedAt: iso(T0 + 5),
        error: { code: 'DEP_DEAD', message: 'dependency "doomed" is dead', details: { dep: 'doomed', depStatus: 'dead' } },
      });
    }
    expect(t.eventLines(from)).toEqual(['task.submitted:x', 'task.submitted:y', 'task.submitted:z', 'task.blocked:y', 'task.blocked:z']);
  });
});
