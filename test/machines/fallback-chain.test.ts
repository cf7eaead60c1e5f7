import { describe, expect, it, vi } from 'vitest';
import { createActor, SimulatedClock } from 'xstate';
import {
  DEFAULT_FALLBACK_CONFIG,
  fallbackChainMachine,
  fallbackStageOf,
  type AttemptFailure,
  type FallbackChainActionParams,
  type FallbackChainInput,
  type FallbackHop,
} from '../../machines/fallback-chain.js';

const HOUR = 3_600_000;

/** An action fake that records its params. */
function effect<P>() {
  return vi.fn((_args: unknown, _params: P): void => {});
}

/** A chain actor with recording effects. The machine has no timers; the clock proves it (see below). */
function start(input: Partial<FallbackChainInput> = {}) {
  const actions = {
    retryLive: effect<FallbackChainActionParams['retryLive']>(),
    resumeOnWorker: effect<FallbackChainActionParams['resumeOnWorker']>(),
    respawnElsewhere: effect<FallbackChainActionParams['respawnElsewhere']>(),
    deadLetter: effect<FallbackChainActionParams['deadLetter']>(),
  };
  const clock = new SimulatedClock();
  const actor = createActor(fallbackChainMachine.provide({ actions }), { input: { taskId: 'build', ...input }, clock }).start();
  const stage = () => fallbackStageOf(actor.getSnapshot());
  const fail = (failure: Partial<AttemptFailure> = {}) =>
    actor.send({ type: 'attempt.failed', code: 'TASK_EXIT_NONZERO', at: 0, sessionIdleMs: 0, workerCrashLooping: false, ...failure });
  const succeed = () => actor.send({ type: 'attempt.succeeded' });
  const hops = () => actor.getSnapshot().context.hops;
  /** Every effect call in order, as `name(params)` pairs. */
  const effects = () =>
    Object.entries(actions)
      .flatMap(([name, fn]) => fn.mock.calls.map((call, i) => ({ name, params: call[1], order: fn.mock.invocationCallOrder[i] ?? 0 })))
      .sort((a, b) => a.order - b.order)
      .map(({ name, params }) => [name, params]);
  return { actor, clock, actions, stage, fail, succeed, hops, effects };
}

/** A hop with defaults for the fields a test does not care about. */
const hop = (h: Pick<FallbackHop, 'from' | 'to' | 'reason'> & Partial<FallbackHop>): FallbackHop => ({
  code: 'TASK_EXIT_NONZERO',
  at: 0,
  classification: null,
  ...h,
});

describe('fallbackChainMachine: the default chain', () => {
  it('starts at the original attempt and does nothing until it fails', () => {
    const c = start();
    expect(c.stage()).toBe('original');
    expect(c.actor.getSnapshot().context).toMatchObject({ maxResumes: 2, staleAfterMs: 12 * HOUR, resumeCount: 0, hops: [] });
    expect(c.effects()).toEqual([]);
  });

  it('original → live → resume(1) → resume(2) → respawn → exhausted, with an effect and a hop for each', () => {
    const c = start();
    const codes = ['TASK_EXIT_NONZERO', 'TASK_TIMEOUT', 'TASK_EXIT_NONZERO', 'WORKER_CRASHED', 'TASK_EXIT_NONZERO'] as const;
    const stages: string[] = [];
    for (const [i, code] of codes.entries()) {
      c.fail({ code, at: (i + 1) * 1_000 });
      stages.push(c.stage());
    }
    expect(stages).toEqual(['live', 'resume', 'resume', 'respawn', 'exhausted']);
    const expected = [
      hop({ from: 'original', to: 'live', reason: 'retry', code: 'TASK_EXIT_NONZERO', at: 1_000 }),
      hop({ from: 'live', to: 'resume', reason: 'resume', code: 'TASK_TIMEOUT', at: 2_000 }),
      hop({ from: 'resume', to: 'resume', reason: 'resume', code: 'TASK_EXIT_NONZERO', at: 3_000 }),
      hop({ from: 'resume', to: 'respawn', reason: 'respawn', code: 'WORKER_CRASHED', at: 4_000 }),
      hop({ from: 'respawn', to: 'exhausted', reason: 'exhausted', code: 'TASK_EXIT_NONZERO', at: 5_000 }),
    ];
    expect(c.hops()).toEqual(expected);
    expect(c.effects()).toEqual([
      ['retryLive', { taskId: 'build' }],
      ['resumeOnWorker', { taskId: 'build', resumeCount: 1 }],
      ['resumeOnWorker', { taskId: 'build', resumeCount: 2 }],
      ['respawnElsewhere', { taskId: 'build', hops: expected.slice(0, 4) }],
      ['deadLetter', { taskId: 'build', hops: expected }],
    ]);
    // Final: the actor is done, so a late result cannot restart the chain.
    expect(c.actor.getSnapshot().status).toBe('done');
  });

  it('records the caller’s classification on the hop', () => {
    const c = start();
    c.fail({ classification: 'transient-network' });
    c.fail();
    expect(c.hops().map((h) => h.classification)).toEqual(['transient-network', null]);
  });

  it('never moves on its own: no timers', () => {
    const c = start();
    c.fail();
    c.clock.increment(48 * HOUR);
    expect(c.stage()).toBe('live');
    expect(c.effects()).toHaveLength(1);
  });
});

describe('fallbackChainMachine: the resume limit', () => {
  it.each([
    [0, ['live', 'respawn']],
    [1, ['live', 'resume', 'respawn']],
    [3, ['live', 'resume', 'resume', 'resume', 'respawn']],
  ])('maxResumes %i: %j', (maxResumes, stages) => {
    const c = start({ maxResumes });
    const seen: string[] = [];
    for (let i = 0; i < stages.length; i++) {
      c.fail();
      seen.push(c.stage());
    }
    expect(seen).toEqual(stages);
    expect(c.actions.resumeOnWorker.mock.calls.map((call) => call[1].resumeCount)).toEqual(
      Array.from({ length: maxResumes }, (_, i) => i + 1),
    );
    expect(c.hops().at(-1)).toMatchObject({ to: 'respawn', reason: 'respawn' });
    c.fail();
    expect(c.stage()).toBe('exhausted');
  });
});

describe('fallbackChainMachine: shortcuts', () => {
  it.each([
    ['live', 1],
    ['resume', 2],
  ] as const)('a stale session skips resume from %s (→ respawn, stale-session)', (from, failuresBefore) => {
    const c = start();
    for (let i = 0; i < failuresBefore; i++) c.fail();
    expect(c.stage()).toBe(from);
    c.fail({ sessionIdleMs: 12 * HOUR + 1, code: 'TASK_TIMEOUT', at: 7 });
    expect(c.stage()).toBe('respawn');
    expect(c.hops().at(-1)).toEqual(hop({ from, to: 'respawn', reason: 'stale-session', code: 'TASK_TIMEOUT', at: 7 }));
    expect(c.actions.respawnElsewhere).toHaveBeenCalledOnce();
  });

  it('a session idle exactly staleAfterMs is still resumed', () => {
    const c = start();
    c.fail();
    c.fail({ sessionIdleMs: DEFAULT_FALLBACK_CONFIG.staleAfterMs });
    expect(c.stage()).toBe('resume');
  });

  it('honours a custom staleAfterMs', () => {
    const c = start({ staleAfterMs: 1_000 });
    c.fail();
    c.fail({ sessionIdleMs: 1_001 });
    expect(c.hops().at(-1)).toMatchObject({ from: 'live', to: 'respawn', reason: 'stale-session' });
  });

  it('the original failure’s staleness does not skip the live retry', () => {
    const c = start();
    c.fail({ sessionIdleMs: 24 * HOUR });
    expect(c.stage()).toBe('live');
    expect(c.hops()).toEqual([hop({ from: 'original', to: 'live', reason: 'retry' })]);
  });

  it.each([
    ['original', 0],
    ['live', 1],
    ['resume', 2],
  ] as const)('a crash-looping worker skips straight to respawn from %s', (from, failuresBefore) => {
    const c = start();
    for (let i = 0; i < failuresBefore; i++) c.fail();
    expect(c.stage()).toBe(from);
    c.fail({ workerCrashLooping: true, code: 'WORKER_CRASHED' });
    expect(c.stage()).toBe('respawn');
    expect(c.hops().at(-1)).toEqual(hop({ from, to: 'respawn', reason: 'crash-loop', code: 'WORKER_CRASHED' }));
    expect(c.actions.retryLive).toHaveBeenCalledTimes(failuresBefore > 0 ? 1 : 0);
  });

  it('a crash loop wins over a stale session', () => {
    const c = start();
    c.fail();
    c.fail({ workerCrashLooping: true, sessionIdleMs: 24 * HOUR });
    expect(c.hops().at(-1)?.reason).toBe('crash-loop');
  });

  it('a crash loop during respawn still exhausts the chain', () => {
    const c = start();
    c.fail({ workerCrashLooping: true });
    c.fail({ workerCrashLooping: true });
    expect(c.stage()).toBe('exhausted');
    expect(c.hops().map((h) => h.reason)).toEqual(['crash-loop', 'exhausted']);
  });
});

describe('fallbackChainMachine: recovery', () => {
  it.each([
    ['original', 0],
    ['live', 1],
    ['resume', 2],
    ['resume', 3],
    ['respawn', 4],
  ] as const)('attempt.succeeded in %s (after %i failures) → recovered', (stage, failures) => {
    const c = start();
    for (let i = 0; i < failures; i++) c.fail();
    expect(c.stage()).toBe(stage);
    const effectsBefore = c.effects();
    c.succeed();
    expect(c.stage()).toBe('recovered');
    expect(c.actor.getSnapshot().status).toBe('done');
    expect(c.hops()).toHaveLength(failures);
    // Success runs no effect of its own.
    expect(c.effects()).toEqual(effectsBefore);
    expect(c.actions.deadLetter).not.toHaveBeenCalled();
  });
});
