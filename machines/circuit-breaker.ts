/**
 * A circuit breaker for one scope (a worker, or a command/agent key such as the program
 * name of `run[0]`), as a pure machine definition: `closed → open → halfOpen → closed`, or
 * back to `open`. Nothing is logged here: every state change calls the named action
 * `reportTransition`, which `src/` supplies with `.provide()`.
 *
 * Probes are granted by the machine itself (`probe.request` → `context.grantedProbes`).
 * An actor processes one event at a time, so however many requests arrive together, the
 * slot check and the grant happen in one step per request and the (N+1)th is refused: the
 * half-open race of breakers that check "may I?" and record "I did" separately cannot occur.
 *
 * Time comes in on events (`call.failed.at`) for the failure window; the open duration is a
 * delay, so tests drive it with `SimulatedClock`.
 */
import { and, assign, setup, type SnapshotFrom } from 'xstate';
import { countedFailures, openDurationMs, resolveBreakerConfig, type CircuitBreakerConfig } from './circuit-breaker-policy.js';

export * from './circuit-breaker-policy.js';

/** A breaker's state as a closed union: the machine's state names. */
export type BreakerState = 'closed' | 'open' | 'halfOpen';

/** What a breaker machine is created with; every setting but `scope` has a default. */
export interface CircuitBreakerInput extends Partial<CircuitBreakerConfig> {
  /** What the breaker guards, e.g. `worker:w1` or `command:claude`; it appears in every report. */
  scope: string;
}

/** The breaker machine's context. */
export interface CircuitBreakerContext {
  scope: string;
  config: CircuitBreakerConfig;
  /** Epoch ms of the consecutive failures counted toward the threshold (closed only). */
  failures: number[];
  /** Opens since the breaker was last closed; 0 while closed. Drives the open duration. */
  consecutiveOpens: number;
  /** How long the current (or last) open lasts. */
  openMs: number;
  /** Epoch ms of the failure that last opened the breaker, or null. */
  openedAt: number | null;
  /** Probes granted in this half-open period and still awaiting a verdict (at most `halfOpenProbes`). */
  grantedProbes: string[];
  /** Successful probes in this half-open period. */
  probeSuccesses: number;
}

/**
 * Events a breaker accepts. A result's `requestId` names the probe it answers; in
 * `halfOpen` only results for a granted probe count (see {@link circuitBreakerMachine}).
 */
export type CircuitBreakerEvent =
  | { type: 'call.succeeded'; requestId?: string }
  | { type: 'call.failed'; at: number; requestId?: string }
  | { type: 'probe.request'; requestId: string }
  | { type: 'probe.released'; requestId: string }
  /** New limits (a live reconfiguration): they apply from the next decision; an open period already running keeps its length. */
  | { type: 'config.update'; config: Partial<CircuitBreakerConfig> };

/** Why a breaker changed state. */
export type BreakerTransitionReason = 'failure-threshold' | 'open-elapsed' | 'probe-failed' | 'probes-succeeded';

/** The params each named action receives as its second argument. */
export interface CircuitBreakerActionParams {
  /** Called on every state change (src logs it). */
  reportTransition: { scope: string; from: BreakerState; to: BreakerState; reason: BreakerTransitionReason };
}

const report = (from: BreakerState, to: BreakerState, reason: BreakerTransitionReason) => ({
  type: 'reportTransition' as const,
  params: ({ context }: { context: CircuitBreakerContext }): CircuitBreakerActionParams['reportTransition'] => ({
    scope: context.scope,
    from,
    to,
    reason,
  }),
});

const breakerSetup = setup({
  types: {
    input: {} as CircuitBreakerInput,
    context: {} as CircuitBreakerContext,
    events: {} as CircuitBreakerEvent,
  },
  actions: {
    reportTransition: (_args: unknown, _params: CircuitBreakerActionParams['reportTransition']): void => {},
  },
  guards: {
    /** Counting this failure, the consecutive failures within the window reach the threshold. */
    reachesThreshold: ({ context, event }) =>
      event.type === 'call.failed' &&
      countedFailures(context.failures, context.config.failureWindowMs, event.at).length >= context.config.failureThreshold,
    /** A probe slot is free and this request does not already hold one. */
    hasProbeSlot: ({ context, event }) =>
      event.type === 'probe.request' &&
      !context.grantedProbes.includes(event.requestId) &&
      context.grantedProbes.length < context.config.halfOpenProbes,
    /** The result answers a probe granted in this half-open period. */
    isGrantedProbe: ({ context, event }) =>
      (event.type === 'call.succeeded' || event.type === 'call.failed' || event.type === 'probe.released') &&
      event.requestId !== undefined &&
      context.grantedProbes.includes(event.requestId),
    /** Counting this success, enough probes have succeeded to close. */
    closesWithThisSuccess: ({ context }) => context.probeSuccesses + 1 >= context.config.closeAfterSuccesses,
  },
  delays: {
    openDuration: ({ context }) => context.openMs,
  },
});

/**
 * Enters `open` once more: the duration grows with each consecutive open, and the probes of
 * a past half-open period are forgotten (their late results must not count in the next one).
 */
const recordOpen = breakerSetup.assign(({ context, event }) => {
  const consecutiveOpens = context.consecutiveOpens + 1;
  return {
    consecutiveOpens,
    openMs: openDurationMs(context.config, consecutiveOpens),
    openedAt: event.type === 'call.failed' ? event.at : context.openedAt,
    failures: [],
    grantedProbes: [],
    probeSuccesses: 0,
  };
});

const withoutProbe = (context: CircuitBreakerContext, requestId: string | undefined) =>
  context.grantedProbes.filter((id) => id !== requestId);

/** The counters of a freshly closed breaker: at creation and after probes close it. */
const closedCounters = (
  config: CircuitBreakerConfig,
): Pick<CircuitBreakerContext, 'failures' | 'consecutiveOpens' | 'openMs' | 'grantedProbes' | 'probeSuccesses'> => ({
  failures: [],
  consecutiveOpens: 0,
  openMs: config.openMs,
  grantedProbes: [],
  probeSuccesses: 0,
});

/** Counts a failure that does not reach the threshold. */
const countFailure = breakerSetup.assign(({ context, event }) =>
  event.type === 'call.failed' ? { failures: countedFailures(context.failures, context.config.failureWindowMs, event.at) } : {},
);

const releaseProbe = breakerSetup.assign(({ context, event }) =>
  event.type === 'probe.released' ? { grantedProbes: withoutProbe(context, event.requestId) } : {},
);

/**
 * A circuit breaker. Transitions (events not listed are ignored):
 *
 * | state    | event            | guard                 | next     | effect                                   |
 * |----------|------------------|-----------------------|----------|------------------------------------------|
 * | closed   | call.failed      | reachesThreshold      | open     | report `failure-threshold`               |
 * | closed   | call.failed      |                       | closed   | count the failure (window applied)       |
 * | closed   | call.succeeded   |                       | closed   | reset the failure count                  |
 * | open     | after openMs     |                       | halfOpen | report `open-elapsed`                    |
 * | halfOpen | probe.request    | hasProbeSlot          | halfOpen | grant: add to `grantedProbes`            |
 * | halfOpen | call.failed      | isGrantedProbe        | open     | report `probe-failed`; open grows        |
 * | halfOpen | call.succeeded   | isGrantedProbe, last  | closed   | report `probes-succeeded`; reset all     |
 * | halfOpen | call.succeeded   | isGrantedProbe        | halfOpen | count it; its slot is free again         |
 * | halfOpen | probe.released   | isGrantedProbe        | halfOpen | the probe ended without a verdict: free  |
 * | any      | config.update    |                       | (same)   | new limits for the next decisions        |
 *
 * In `open` every result and request is ignored (the breaker already opened). In `halfOpen`
 * a result without a granted `requestId` is ignored: it comes from a call that started before
 * the breaker opened, and must neither close nor re-open it. `probe.request` outside
 * `halfOpen` grants nothing: in `closed` everything passes, in `open` nothing does.
 * `halfOpenProbes` bounds the probes in flight at once; a succeeded or released probe frees
 * its slot, so `closeAfterSuccesses` may exceed `halfOpenProbes`.
 *
 * @example
 * const breaker = createActor(circuitBreakerMachine.provide({ actions: { reportTransition } }), {
 *   input: { scope: 'command:claude' },
 * }).start();
 * breaker.send({ type: 'probe.request', requestId: 'task-7#2' });
 * if (isProbeGranted(breaker.getSnapshot(), 'task-7#2')) assign(task);
 */
export const circuitBreakerMachine = breakerSetup.createMachine({
  id: 'circuitBreaker',
  initial: 'closed',
  context: ({ input }) => {
    const { scope, ...overrides } = input;
    const config = resolveBreakerConfig(overrides);
    return { scope, config, openedAt: null, ...closedCounters(config) };
  },
  on: {
    'config.update': { actions: assign({ config: ({ context, event }) => resolveBreakerConfig({ ...context.config, ...event.config }) }) },
  },
  states: {
    closed: {
      on: {
        'call.failed': [
          { guard: 'reachesThreshold', target: 'open', actions: [recordOpen, report('closed', 'open', 'failure-threshold')] },
          { actions: countFailure },
        ],
        'call.succeeded': { actions: assign({ failures: [] }) },
      },
    },
    open: {
      after: { openDuration: { target: 'halfOpen', actions: report('open', 'halfOpen', 'open-elapsed') } },
    },
    halfOpen: {
      // Starts with no probes granted: `recordOpen` cleared them on the way into `open`.
      on: {
        'probe.request': {
          guard: 'hasProbeSlot',
          actions: assign({ grantedProbes: ({ context, event }) => [...context.grantedProbes, event.requestId] }),
        },
        'call.failed': {
          guard: 'isGrantedProbe',
          target: 'open',
          actions: [recordOpen, report('halfOpen', 'open', 'probe-failed')],
        },
        'call.succeeded': [
          {
            guard: and(['isGrantedProbe', 'closesWithThisSuccess']),
            target: 'closed',
            actions: [
              assign(({ context }) => closedCounters(context.config)),
              report('halfOpen', 'closed', 'probes-succeeded'),
            ],
          },
          {
            guard: 'isGrantedProbe',
            actions: assign(({ context, event }) => ({
              grantedProbes: withoutProbe(context, event.requestId),
              probeSuccesses: context.probeSuccesses + 1,
            })),
          },
        ],
        'probe.released': { guard: 'isGrantedProbe', actions: releaseProbe },
      },
    },
  },
});

/** A breaker snapshot. */
export type CircuitBreakerSnapshot = SnapshotFrom<typeof circuitBreakerMachine>;

/** The breaker snapshot's state, e.g. `halfOpen`. */
export function breakerStateOf(snapshot: CircuitBreakerSnapshot): BreakerState {
  if (snapshot.matches('open')) return 'open';
  if (snapshot.matches('halfOpen')) return 'halfOpen';
  return 'closed';
}

/**
 * For an assignment strategy: may work for this scope be considered at all? `closed`: yes;
 * `open`: no; `halfOpen`: only while a probe slot is free, and then the work must still be
 * granted with `probe.request` (see {@link isProbeGranted}) before it runs.
 */
export function canPass(snapshot: CircuitBreakerSnapshot): boolean {
  const state = breakerStateOf(snapshot);
  if (state === 'closed') return true;
  if (state === 'open') return false;
  return snapshot.context.grantedProbes.length < snapshot.context.config.halfOpenProbes;
}

/** True when `probe.request` for `requestId` was granted and its probe awaits a verdict. */
export function isProbeGranted(snapshot: CircuitBreakerSnapshot, requestId: string): boolean {
  return breakerStateOf(snapshot) === 'halfOpen' && snapshot.context.grantedProbes.includes(requestId);
}
