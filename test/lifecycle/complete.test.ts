import { describe, expect, it } from 'vitest';
import { T0, Tables, complete, iso, spec, start, submit } from './helpers.js';
import { planCancel } from '../../src/lifecycle/block.js';
import { planComplete } from '../../src/lifecycle/complete.js';

describe('planComplete', () => {
  it('completes the attempt and the task, and unlocks a dependent only once all its dependencies are complete', () => {
    const t = new Tables();
    submit(t, [spec('a'), spec('b', { deps: ['a'] }), spec('c', { deps: ['a'] }), spec('d', { deps: ['b', 'c'] })]);
    start(t, 'a', 'La');
    t.apply(planComplete(t.rows('a'), [t.task('b'), t.task('c')], { exitCode: 0, result: { ok: true }, commit: 'c0ffee', now: T0 + 5 }));
    expect(t.task('a')).toMatchObject({
      status: 'complete', lease: null, leaseExpiresAt: null, finishedAt: iso(T0 + 5), exitCode: 0, result: { ok: true }, commit: 'c0ffee', error: null,
    });
    expect(t.rows('a').attempts[0]).toMatchObject({ finishedAt: iso(T0 + 5), exitCode: 0, code: null });
    expect([t.task('b').status, t.task('c').status]).toEqual(['ready', 'ready']);
    start(t, 'b', 'Lb');
    complete(t, 'b');
    expect(t.task('d')).toMatchObject({ status: 'pending', unmetDeps: 1 });
    start(t, 'c', 'Lc');
    complete(t, 'c');
    expect(t.task('d')).toMatchObject({ status: 'ready', unmetDeps: 0 });
  });

  it('counts a dependent that can no longer run down, leaving its status', () => {
    const t = new Tables();
    submit(t, [spec('a'), spec('b', { deps: ['a'] })]);
    t.apply(planCancel(t.rows('b'), t.graph(), T0));
    start(t, 'a', 'L');
    complete(t, 'a');
    expect(t.task('b')).toMatchObject({ status: 'cancelled', unmetDeps: 0 });
  });

  it('keeps the agent session and usage the completion reports on the attempt; none when it reports none', () => {
    const t = new Tables();
    submit(t, [spec('agent'), spec('plain')]);
    start(t, 'agent', 'La');
    const session = { agent: 'claude', id: 'sess-1' };
    const usage = { inputTokens: 10, outputTokens: 20, cacheReadTokens: 30, cacheWriteTokens: 40, costUsd: 0.5 };
    t.apply(planComplete(t.rows('agent'), [], { exitCode: 0, result: null, commit: null, now: T0 + 1, session, usage }));
    expect(t.rows('agent').attempts[0]).toMatchObject({ session, usage });
    start(t, 'plain', 'Lp');
    complete(t, 'plain');
    expect(t.rows('plain').attempts[0]).toMatchObject({ session: null, usage: null });
  });
});
