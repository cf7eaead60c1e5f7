/**
 * The supervisor's lifecycle, as a pure machine definition: `init → running → draining →
 * stopped`, or `failed`. Opening the store, waiting for in-flight tasks, stopping workers
 * and closing resources are named promise actors; cancelling in-flight tasks is the named
 * action `cancelInFlight`. `src/` supplies all of them with `.provide()`.
 *
 * `cancelInFlight` receives typed params (its second argument, see
 * {@link CoordinatorActionParams}), in the same style as the worker machine's reports.
 */
import { assign, fromPromise, setup, spawnChild, type ActorRefFrom, type SnapshotFrom } from 'xstate';
import { workerMachine, type WorkerInput } from './worker.js';
import { circuitBreakerMachine, type CircuitBreakerConfig } from './circuit-breaker.js';
import { fallbackChainMachine } from './fallback-chain.js';
import { parseErrorCode, type CoordErrorCode } from '../src/errors.js';

/** The supervisor's lifecycle as a closed union: the machine's top-level state names. */
export type CoordinatorState = 'init' | 'running' | 'draining' | 'stopped' | 'failed';

/** A spawned worker machine. */
export type WorkerRef = ActorRefFrom<typeof workerMachine>;

/** What the coordinator machine is created with. */
export interface CoordinatorInput {
  /** The deadline of a drain that does not name one. */
  drainDeadlineMs: number;
  /** Settings every circuit breaker is spawned with. */
  breaker?: Partial<CircuitBreakerConfig>;
  /** Settings every fallback chain is spawned with. */
  fallback?: { maxResumes?: number; staleAfterMs?: number };
}

/** Why the coordinator failed; `code` is stable, `message` is for people. */
export interface CoordinatorError {
  code: CoordErrorCode;
  message: string;
  /** Structured facts (the holder of a lock, a path), when the error carried them. */
  details?: Record<string, unknown>;
}

/** The coordinator machine's context. */
export interface CoordinatorContext {
  workers: Array<{ workerId: string; ref: WorkerRef }>;
  failedWorkers: string[];
  drainDeadlineMs: number;
  error: CoordinatorError | null;
  breaker: Partial<CircuitBreakerConfig>;
  fallback: { maxResumes?: number; staleAfterMs?: number };
}

/** Events the coordinator machine accepts. */
export type CoordinatorEvent =
  | { type: 'coordinator.drain'; deadlineMs?: number }
  | { type: 'coordinator.stop' }
  | { type: 'worker.failed'; workerId: string }
  /**
   * The run cannot go on (the store is corrupt, the disk is full): drain and end `failed`
   * with this error. A second fault during the drain stops at once — the store failing
   * again means waiting for in-flight results is pointless.
   */
  | { type: 'coordinator.fault'; error: CoordinatorError }
  /** Spawn the breaker for `scope` as child `breaker:<scope>` (sent once per scope). */
  | { type: 'breaker.ensure'; scope: string }
  /** Spawn a fallback chain for `taskId` as child `fallback:<key>` (a key per chain, so a redriven task gets a fresh one). */
  | { type: 'fallback.ensure'; taskId: string; key: string }
  /** More workers (scaling up while running): one child per input; ignored once draining. */
  | { type: 'workers.add'; workers: WorkerInput[] }
  /** A worker scaled away has stopped: it is no longer one of the run's workers. */
  | { type: 'workers.remove'; workerId: string }
  /** Live settings: the default drain deadline, and what breakers are spawned with from now on. */
  | { type: 'coordinator.configure'; drainDeadlineMs?: number; breaker?: Partial<CircuitBreakerConfig> };

/** What `initialize` resolves with: one entry per worker to spawn. */
export interface InitializeOutput {
  workers: WorkerInput[];
}

/** The input of `stopWorkers`: every spawned worker. */
export interface StopWorkersInput {
  workers: WorkerRef[];
}

/** The params each named action receives as its second argument. */
export interface CoordinatorActionParams {
  /** `stop`: `coordinator.stop` arrived; `drain-deadline`: the drain ran out of time. */
  cancelInFlight: { reason: 'stop' | 'drain-deadline' };
}

/**
 * Maps anything thrown to a {@link CoordinatorError}: its `code` when that is one of coord's
 * codes, else `INTERNAL` (a system error's `ENOENT` is in the message, not the code).
 */
export function toCoordinatorError(error: unknown): CoordinatorError {
  const code = parseErrorCode(typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined);
  const message = error instanceof Error ? error.message : String(error);
  const details = typeof error === 'object' && error !== null && 'details' in error ? error.details : undefined;
  return typeof details === 'object' && details !== null ? { code, message, details: details as Record<string, unknown> } : { code, message };
}

/** A placeholder promise actor: rejects until `src/` provides the real one. */
const notProvided = (name: string): Promise<never> =>
  Promise.reject(Object.assign(new Error(`actor "${name}" was not provided`), { code: 'NOT_PROVIDED' }));

const coordinatorSetup = setup({
  types: {
    input: {} as CoordinatorInput,
    context: {} as CoordinatorContext,
    events: {} as CoordinatorEvent,
  },
  actors: {
    initialize: fromPromise<InitializeOutput>(() => notProvided('initialize')),
    worker: workerMachine,
    breaker: circuitBreakerMachine,
    fallback: fallbackChainMachine,
    /** Resolves once no task is in flight. */
    awaitIdle: fromPromise<void>(() => notProvided('awaitIdle')),
    /** Sends `worker.stop` to each worker and resolves once all are final. */
    stopWorkers: fromPromise<void, StopWorkersInput>(() => notProvided('stopWorkers')),
    closeResources: fromPromise<void>(() => notProvided('closeResources')),
  },
  actions: {
    cancelInFlight: (_args: unknown, _params: CoordinatorActionParams['cancelInFlight']): void => {},
    /** Internal: keeps the first fault as the run's error. */
    recordFault: assign(({ context, event }) => (event.type === 'coordinator.fault' && context.error === null ? { error: event.error } : {})),
    /** Internal: forgets a worker that was scaled away and has stopped. */
    forgetWorker: assign(({ context, event }) =>
      event.type === 'workers.remove'
        ? {
            workers: context.workers.filter((w) => w.workerId !== event.workerId),
            failedWorkers: context.failedWorkers.filter((id) => id !== event.workerId),
          }
        : {},
    ),
    /** Internal: applies live settings. */
    configure: assign(({ context, event }) =>
      event.type === 'coordinator.configure'
        ? {
            drainDeadlineMs: event.drainDeadlineMs ?? context.drainDeadlineMs,
            breaker: event.breaker === undefined ? context.breaker : { ...context.breaker, ...event.breaker },
          }
        : {},
    ),
    /** Internal (not meant to be provided): remembers a failed worker once. */
    recordWorkerFailure: assign(({ context, event }) =>
      event.type === 'worker.failed' && !context.failedWorkers.includes(event.workerId)
        ? { failedWorkers: [...context.failedWorkers, event.workerId] }
        : {},
    ),
  },
  guards: {
    /** The run already failed (e.g. every worker failed): closing ends in `failed`. */
    hasError: ({ context }) => context.error !== null,
    /**
     * Counting the failure being reported, every worker has failed (and there is one). A
     * worker cooling down is not failed: only a slot that can never start again counts.
     */
    allWorkersFailed: ({ context, event }) => {
      if (event.type !== 'worker.failed') return false;
      const failed = new Set([...context.failedWorkers, event.workerId]);
      return context.workers.length > 0 && context.workers.every((w) => failed.has(w.workerId));
    },
  },
  delays: {
    drainDeadline: ({ context }) => context.drainDeadlineMs,
  },
});

/**
 * The supervisor: `init` spawns one worker child per configured worker, `running`
 * dispatches (in `src/`), `draining` finishes or cancels in-flight work, stops the
 * workers and closes resources. `coordinator.drain` while draining is ignored: the first
 * drain's deadline stands.
 *
 * @example
 * const actor = createActor(coordinatorMachine.provide({ actors, actions }), {
 *   input: { drainDeadlineMs: 30_000 },
 * }).start();
 * actor.send({ type: 'coordinator.drain' });
 */
export const coordinatorMachine = coordinatorSetup.createMachine({
  id: 'coordinator',
  initial: 'init',
  context: ({ input }) => ({
    workers: [],
    failedWorkers: [],
    drainDeadlineMs: input.drainDeadlineMs,
    error: null,
    breaker: input.breaker ?? {},
    fallback: input.fallback ?? {},
  }),
  // Breakers and fallback chains are children of the coordinator, so an inspector watching
  // the root actor sees every one of their transitions. `src/` sends each ensure once.
  on: {
    'breaker.ensure': {
      actions: spawnChild('breaker', {
        id: ({ event }) => `breaker:${event.type === 'breaker.ensure' ? event.scope : ''}`,
        input: ({ context, event }) => ({ ...context.breaker, scope: event.type === 'breaker.ensure' ? event.scope : '' }),
      }),
    },
    'fallback.ensure': {
      actions: spawnChild('fallback', {
        id: ({ event }) => `fallback:${event.type === 'fallback.ensure' ? event.key : ''}`,
        input: ({ context, event }) => ({ ...context.fallback, taskId: event.type === 'fallback.ensure' ? event.taskId : '' }),
      }),
    },
    'workers.remove': { actions: 'forgetWorker' },
    'coordinator.configure': { actions: 'configure' },
  },
  states: {
    init: {
      invoke: {
        src: 'initialize',
        onDone: {
          target: 'running',
          actions: assign({
            workers: ({ event, spawn }) =>
              event.output.workers.map((w) => ({
                workerId: w.workerId,
                ref: spawn('worker', {
                  id: w.workerId,
                  input: { ...w, capabilities: [...w.capabilities] },
                }),
              })),
          }),
        },
        onError: { target: 'failed', actions: assign({ error: ({ event }) => toCoordinatorError(event.error) }) },
      },
    },
    running: {
      on: {
        'workers.add': {
          actions: assign({
            workers: ({ context, event, spawn }) => [
              ...context.workers,
              ...event.workers.map((w) => ({ workerId: w.workerId, ref: spawn('worker', { id: w.workerId, input: { ...w, capabilities: [...w.capabilities] } }) })),
            ],
          }),
        },
        'coordinator.drain': {
          target: 'draining',
          actions: assign({ drainDeadlineMs: ({ context, event }) => event.deadlineMs ?? context.drainDeadlineMs }),
        },
        'coordinator.stop': {
          target: 'draining.stoppingWorkers',
          actions: { type: 'cancelInFlight', params: { reason: 'stop' } },
        },
        'coordinator.fault': { target: 'draining', actions: 'recordFault' },
        'worker.failed': [
          {
            // Still through stoppingWorkers and closing: the store must be closed and the
            // summary written even when the run failed; `closing` then ends in `failed`.
            guard: 'allWorkersFailed',
            target: 'draining.stoppingWorkers',
            actions: [
              'recordWorkerFailure',
              assign({
                error: ({ context }) => ({
                  code: 'ALL_WORKERS_FAILED',
                  message: `all ${context.workers.length} workers failed`,
                }),
              }),
            ],
          },
          { actions: 'recordWorkerFailure' },
        ],
      },
    },
    draining: {
      initial: 'finishing',
      // Recorded for the summary; no transition, the drain is already ending the run.
      on: { 'worker.failed': { actions: 'recordWorkerFailure' }, 'coordinator.fault': { actions: 'recordFault' } },
      states: {
        finishing: {
          invoke: {
            src: 'awaitIdle',
            onDone: 'stoppingWorkers',
            // Not knowing whether work is in flight, treat it like a missed deadline.
            onError: { target: 'stoppingWorkers', actions: { type: 'cancelInFlight', params: { reason: 'drain-deadline' } } },
          },
          after: {
            drainDeadline: {
              target: 'stoppingWorkers',
              actions: { type: 'cancelInFlight', params: { reason: 'drain-deadline' } },
            },
          },
          on: {
            'coordinator.stop': { target: 'stoppingWorkers', actions: { type: 'cancelInFlight', params: { reason: 'stop' } } },
            'coordinator.fault': { target: 'stoppingWorkers', actions: ['recordFault', { type: 'cancelInFlight', params: { reason: 'stop' } }] },
          },
        },
        stoppingWorkers: {
          invoke: {
            src: 'stopWorkers',
            input: ({ context }) => ({ workers: context.workers.map((w) => w.ref) }),
            onDone: 'closing',
            // Closing the store must happen anyway: a worker that would not stop must not
            // leave the store open and its writes unflushed.
            onError: 'closing',
          },
        },
        closing: {
          invoke: {
            src: 'closeResources',
            onDone: [{ guard: 'hasError', target: '#coordinator.failed' }, { target: '#coordinator.stopped' }],
            // The first error stands: a store that failed mid-run may fail again while closing.
            onError: { target: '#coordinator.failed', actions: assign({ error: ({ context, event }) => context.error ?? toCoordinatorError(event.error) }) },
          },
        },
      },
    },
    stopped: { type: 'final' },
    failed: { type: 'final' },
  },
});

/** The coordinator snapshot's top-level state, e.g. `draining` for `{ draining: 'closing' }`. */
export function coordinatorStateOf(snapshot: SnapshotFrom<typeof coordinatorMachine>): CoordinatorState {
  const { value } = snapshot;
  return typeof value === 'string' ? value : 'draining';
}
