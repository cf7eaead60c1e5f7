import { describe, expect, it, vi } from 'vitest';
import { createActor, SimulatedClock } from 'xstate';
import {
  breakerStateOf,
  canPass,
  circuitBreakerMachine,
  DEFAULT_BREAKER_CONFIG,
  isProbeGranted,
  resolveBreakerConfig,
  type CircuitBreakerActionParams,
  type CircuitBreakerInput,
} from '../../machines/circuit-breaker.js';

/** A breaker actor on a simulated clock, with a recording `reportTransition`. */
function start(input: Partial<CircuitBreakerInput> = {}) {
  const reportTransition = vi.fn((_args: unknown, _params: CircuitBreakerActionParams['reportTransition']): void => {});
  const clock = new SimulatedClock();
  const machine = circuitBreakerMachine.provide({ actions: { reportTransition } });
  const actor = createActor(machine, { input: { scope: 'command:claude', ...input }, clock }).start();
  const state = () => breakerStateOf(actor.getSnapshot());
  const fail = (at = 0, requestId?: string) => actor.send({ type: 'call.failed', at, ...(requestId ? { requestId } : {}) });
  const succeed = (requestId?: string) => actor.send({ type: 'call.succeeded', ...(requestId ? { requestId } : {}) });
  const request = (requestId: string) => actor.send({ type: 'probe.request', requestId });
  const reports = () => reportTransition.mock.calls.map((c) => c[1]);
  return { actor, clock, reportTransition, reports, state, fail, succeed, request };
}

type Breaker = ReturnType<typeof start>;

/** Opens a closed breaker with `threshold` failures at `at`. */
function trip(b: Breaker, threshold = DEFAULT_BREAKER_CONFIG.failureThreshold, at = 0) {
  for (let i = 0; i < threshold; i++) b.fail(at);
}

/** Fails one probe: from `open`, waits out `openMs`, takes a probe and fails it. */
function failProbe(b: Breaker, openMs: number, id: string) {
  b.clock.increment(openMs);
  b.request(id);
  b.fail(0, id);
}

describe('circuitBreakerMachine: closed', () => {
  it.each([[undefined, 5], [2, 2]])('failureThreshold %s: stays closed below %i failures and opens on it', (failureThreshold, n) => {
    const b = start(failureThreshold === undefined ? {} : { failureThreshold });
    trip(b, n - 1);
    expect(b.state()).toBe('closed');
    expect(b.actor.getSnapshot().context.failures).toHaveLength(n - 1);
    expect(b.reportTransition).not.toHaveBeenCalled();
    b.fail(0);
    expect(b.state()).toBe('open');
    expect(b.reports()).toEqual([{ scope: 'command:claude', from: 'closed', to: 'open', reason: 'failure-threshold' }]);
  });

  it('counts only failures within the window of the newest one', () => {
    const b = start();
    for (const at of [0, 20_000, 40_000, 60_000, 80_000]) b.fail(at);
    // At 80 s, the failures at 0 and 20 s are a window (60 s) or more behind.
    expect(b.state()).toBe('closed');
    expect(b.actor.getSnapshot().context.failures).toEqual([40_000, 60_000, 80_000]);
    b.fail(90_000);
    b.fail(99_999);
    expect(b.state()).toBe('open');
  });

  it('a success resets the count', () => {
    const b = start();
    trip(b, 4);
    b.succeed();
    trip(b, 4);
    expect(b.state()).toBe('closed');
    b.fail(0);
    expect(b.state()).toBe('open');
  });
});

describe('circuitBreakerMachine: open', () => {
  it('stays open for openMs, then goes halfOpen', () => {
    const b = start();
    trip(b, 5, 1_000);
    expect(b.actor.getSnapshot().context.openedAt).toBe(1_000);
    b.clock.increment(59_999);
    expect(b.state()).toBe('open');
    b.clock.increment(1);
    expect(b.state()).toBe('halfOpen');
    expect(b.reports().at(-1)).toEqual({ scope: 'command:claude', from: 'open', to: 'halfOpen', reason: 'open-elapsed' });
  });

  it('ignores results and refuses probes while open', () => {
    const b = start();
    trip(b);
    b.succeed();
    b.succeed('p1');
    b.request('p1');
    expect(b.state()).toBe('open');
    expect(b.actor.getSnapshot().context.grantedProbes).toEqual([]);
    expect(isProbeGranted(b.actor.getSnapshot(), 'p1')).toBe(false);
  });

  it('grows the open duration by the factor with each re-open, up to maxOpenMs', () => {
    const b = start();
    trip(b);
    const durations = [60_000, 120_000, 240_000, 480_000, 600_000, 600_000];
    for (const [i, ms] of durations.entries()) {
      expect(b.actor.getSnapshot().context.openMs).toBe(ms);
      b.clock.increment(ms - 1);
      expect(b.state()).toBe('open');
      b.clock.increment(1);
      expect(b.state()).toBe('halfOpen');
      b.request(`p${i}`);
      b.fail(0, `p${i}`);
      expect(b.state()).toBe('open');
    }
    expect(b.actor.getSnapshot().context.consecutiveOpens).toBe(durations.length + 1);
  });

  it('honours a custom factor and cap', () => {
    const b = start({ openMs: 1_000, openBackoffFactor: 3, maxOpenMs: 5_000 });
    trip(b);
    failProbe(b, 1_000, 'a');
    expect(b.actor.getSnapshot().context.openMs).toBe(3_000);
    failProbe(b, 3_000, 'b');
    expect(b.actor.getSnapshot().context.openMs).toBe(5_000);
  });

  it('starts over at openMs after a successful close', () => {
    const b = start();
    trip(b);
    failProbe(b, 60_000, 'a');
    failProbe(b, 120_000, 'b');
    b.clock.increment(240_000);
    b.request('c');
    b.succeed('c');
    expect(b.state()).toBe('closed');
    expect(b.actor.getSnapshot().context).toMatchObject({ consecutiveOpens: 0, openMs: 60_000, failures: [] });
    trip(b);
    b.clock.increment(59_999);
    expect(b.state()).toBe('open');
    b.clock.increment(1);
    expect(b.state()).toBe('halfOpen');
  });
});

describe('circuitBreakerMachine: halfOpen', () => {
  /** A breaker that has just gone halfOpen. */
  function startHalfOpen(input: Partial<CircuitBreakerInput> = {}) {
    const b = start(input);
    trip(b, input.failureThreshold);
    b.clock.increment(input.openMs ?? 60_000);
    expect(b.state()).toBe('halfOpen');
    return b;
  }

  it.each([1, 2, 4])('grants exactly %i probes when N + 3 requests arrive back to back', (n) => {
    const b = startHalfOpen({ halfOpenProbes: n });
    const ids = Array.from({ length: n + 3 }, (_, i) => `task-${i}`);
    for (const id of ids) b.request(id);
    const snap = b.actor.getSnapshot();
    expect(snap.context.grantedProbes).toEqual(ids.slice(0, n));
    expect(ids.map((id) => isProbeGranted(snap, id))).toEqual(ids.map((_, i) => i < n));
    expect(canPass(snap)).toBe(false);
  });

  it('a probe holds one slot however often it is requested, and counts once', () => {
    const b = startHalfOpen({ halfOpenProbes: 2, closeAfterSuccesses: 2 });
    b.request('a');
    b.request('a');
    b.request('b');
    expect(b.actor.getSnapshot().context.grantedProbes).toEqual(['a', 'b']);
    b.succeed('a');
    b.succeed('a');
    expect(b.state()).toBe('halfOpen');
    expect(b.actor.getSnapshot().context).toMatchObject({ grantedProbes: ['b'], probeSuccesses: 1 });
  });

  it('a failed probe reopens, for longer', () => {
    const b = startHalfOpen();
    b.request('p');
    b.fail(5, 'p');
    expect(b.state()).toBe('open');
    expect(b.actor.getSnapshot().context).toMatchObject({ openMs: 120_000, openedAt: 5, grantedProbes: [] });
    expect(b.reports().at(-1)).toEqual({ scope: 'command:claude', from: 'halfOpen', to: 'open', reason: 'probe-failed' });
  });

  it('ignores results that answer no granted probe (calls from before the breaker opened)', () => {
    const b = startHalfOpen();
    b.request('p');
    b.fail(0);
    b.fail(0, 'other');
    b.succeed();
    b.succeed('other');
    expect(b.state()).toBe('halfOpen');
    expect(b.actor.getSnapshot().context).toMatchObject({ grantedProbes: ['p'], probeSuccesses: 0 });
  });

  it('closes after M successful probes, each success freeing its slot', () => {
    const b = startHalfOpen({ closeAfterSuccesses: 3 });
    for (const id of ['a', 'b']) {
      b.request(id);
      expect(isProbeGranted(b.actor.getSnapshot(), id)).toBe(true);
      b.succeed(id);
      expect(b.state()).toBe('halfOpen');
    }
    expect(b.actor.getSnapshot().context.probeSuccesses).toBe(2);
    b.request('c');
    b.succeed('c');
    expect(b.state()).toBe('closed');
    expect(b.reports().at(-1)).toEqual({ scope: 'command:claude', from: 'halfOpen', to: 'closed', reason: 'probes-succeeded' });
  });

  it('probe.released frees the slot without a verdict', () => {
    const b = startHalfOpen();
    b.request('a');
    b.request('b');
    expect(isProbeGranted(b.actor.getSnapshot(), 'b')).toBe(false);
    b.actor.send({ type: 'probe.released', requestId: 'a' });
    expect(b.state()).toBe('halfOpen');
    expect(canPass(b.actor.getSnapshot())).toBe(true);
    b.request('b');
    expect(b.actor.getSnapshot().context.grantedProbes).toEqual(['b']);
  });

  it('a new halfOpen period starts with no probes granted', () => {
    const b = startHalfOpen({ halfOpenProbes: 2 });
    b.request('a');
    b.request('b');
    b.fail(0, 'a');
    b.clock.increment(120_000);
    expect(b.state()).toBe('halfOpen');
    expect(b.actor.getSnapshot().context).toMatchObject({ grantedProbes: [], probeSuccesses: 0 });
    // The old probe's late result answers nothing in this period.
    b.succeed('b');
    expect(b.state()).toBe('halfOpen');
  });
});

describe('circuitBreakerMachine: reports and helpers', () => {
  it('reports every transition with its scope, from, to and reason', () => {
    const b = start({ scope: 'worker:w1' });
    trip(b);
    failProbe(b, 60_000, 'a');
    b.clock.increment(120_000);
    b.request('b');
    b.succeed('b');
    expect(b.reports()).toEqual([
      { scope: 'worker:w1', from: 'closed', to: 'open', reason: 'failure-threshold' },
      { scope: 'worker:w1', from: 'open', to: 'halfOpen', reason: 'open-elapsed' },
      { scope: 'worker:w1', from: 'halfOpen', to: 'open', reason: 'probe-failed' },
      { scope: 'worker:w1', from: 'open', to: 'halfOpen', reason: 'open-elapsed' },
      { scope: 'worker:w1', from: 'halfOpen', to: 'closed', reason: 'probes-succeeded' },
    ]);
  });

  it('canPass: closed yes, open no, halfOpen while a probe slot is free', () => {
    const b = start({ halfOpenProbes: 2 });
    expect(canPass(b.actor.getSnapshot())).toBe(true);
    // Closed lets everything pass: a probe.request there grants (and uses up) nothing.
    b.request('a');
    expect(b.actor.getSnapshot().context.grantedProbes).toEqual([]);
    trip(b);
    expect(canPass(b.actor.getSnapshot())).toBe(false);
    b.clock.increment(60_000);
    expect(canPass(b.actor.getSnapshot())).toBe(true);
    b.request('a');
    expect(canPass(b.actor.getSnapshot())).toBe(true);
    b.request('b');
    expect(canPass(b.actor.getSnapshot())).toBe(false);
  });

  it('resolveBreakerConfig fills defaults and raises counts below 1', () => {
    expect(resolveBreakerConfig()).toEqual(DEFAULT_BREAKER_CONFIG);
    expect(resolveBreakerConfig({ failureThreshold: 0, halfOpenProbes: -1, closeAfterSuccesses: 0.5 })).toMatchObject({
      failureThreshold: 1,
      halfOpenProbes: 1,
      closeAfterSuccesses: 1,
    });
  });
});

describe('circuitBreakerMachine: config.update', () => {
  it('applies new limits to the next decisions in any state', () => {
    const b = start({ failureThreshold: 5 });
    trip(b, 2);
    expect(b.state()).toBe('closed');
    b.actor.send({ type: 'config.update', config: { failureThreshold: 3 } });
    expect(b.actor.getSnapshot().context.config.failureThreshold).toBe(3);
    b.fail(0);
    expect(b.state()).toBe('open');
    b.actor.send({ type: 'config.update', config: { halfOpenProbes: 0 } });
    // resolved like the input: at least one probe
    expect(b.actor.getSnapshot().context.config.halfOpenProbes).toBe(1);
    expect(b.state()).toBe('open');
  });
});
