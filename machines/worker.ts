/**
 * One worker orchestrator's lifecycle, as a pure machine definition: no process is forked
 * and nothing is logged here. The child process is the callback actor `runProcess` and
 * every report is a named action; `src/` supplies both with `.provide()`.
 *
 * Named actions receive their data as typed action **params** (the second argument of the
 * implementation, see {@link WorkerActionParams}); an implementation never needs to read
 * `event` or `context`. The params are resolved at the point in the action list where the
 * action runs, so `reportTaskLost` and `reportTaskResult` still see the task in `context`.
 *
 * Time comes in on events (`process.ready.at`, `process.exited.at`), never from a clock,
 * so restart intensity and backoff are tested with plain numbers.
 */
import { assertEvent, assign, fromCallback, sendTo, setup, spawnChild, stopChild } from 'xstate';
import type { ParentMessage } from '../src/protocol/messages.js';
import {
  DEFAULT_RESTART_POLICY,
  nextRestartDelay,
  recentRestarts,
  wantsRestart,
  withinIntensity,
} from './restart-policy.js';
import {
  SHUTDOWN_GRACE_MS,
  type ProcessCommand,
  type ProcessExit,
  type RunProcessInput,
  type WorkerActionParams,
  type WorkerContext,
  type WorkerEvent,
  type WorkerInput,
} from './worker-types.js';

export * from './worker-types.js';

/** A named effect whose real implementation `src/` supplies with `.provide()`. */
const notProvided =
  <P>() =>
  (_args: unknown, _params: P): void => {};

const workerSetup = setup({
  types: {
    input: {} as WorkerInput,
    context: {} as WorkerContext,
    events: {} as WorkerEvent,
  },
  actors: {
    /** Forks and watches the child process; a placeholder until `src/` provides it. */
    runProcess: fromCallback<ProcessCommand, RunProcessInput>(() => {}),
  },
  actions: {
    reportReady: notProvided<WorkerActionParams['reportReady']>(),
    reportTaskResult: notProvided<WorkerActionParams['reportTaskResult']>(),
    reportStaleResult: notProvided<WorkerActionParams['reportStaleResult']>(),
    reportTaskLost: notProvided<WorkerActionParams['reportTaskLost']>(),
    reportExit: notProvided<WorkerActionParams['reportExit']>(),
    reportRestart: notProvided<WorkerActionParams['reportRestart']>(),
    reportHung: notProvided<WorkerActionParams['reportHung']>(),
  },
  guards: {
    isLeaseCurrent: ({ context, event }) => {
      if (event.type !== 'task.completed' && event.type !== 'task.failed') return false;
      const { task } = context;
      const { message } = event;
      return task !== null && message.taskId === task.taskId && message.attempt === task.attempt && message.lease === task.lease;
    },
    /** The restart type wants this exit restarted and restart intensity allows one more. */
    hasRestartBudget: ({ context, event }) => {
      if (event.type !== 'process.exited') return false;
      const exit = { code: event.code, signal: event.signal };
      // A process killed for hanging is restarted even by a `transient` spec: it did not end normally.
      const wanted = context.hung ? context.restartPolicy.restart !== 'temporary' : wantsRestart(context.restartPolicy, exit);
      return wanted && withinIntensity(context.restartTimes, context.restartPolicy, event.at);
    },
  },
  delays: {
    spawnTimeout: 10_000,
    shutdownGrace: SHUTDOWN_GRACE_MS,
    killGrace: 2_000,
    /** Heartbeat interval × missed beats; `src/` provides it from its configuration. */
    heartbeatTimeout: 6_000,
    restartDelay: ({ context }) => context.restartDelayMs ?? 0,
  },
});

/** Reports a current result, then drops the task (the report can still read it). */
const finishTask = workerSetup.enqueueActions(({ context, event, enqueue }) => {
  assertEvent(event, ['task.completed', 'task.failed']);
  enqueue({ type: 'reportTaskResult', params: { workerId: context.workerId, message: event.message } });
  enqueue.assign({ task: null });
});

const reportStale = workerSetup.enqueueActions(({ context, event, enqueue }) => {
  assertEvent(event, ['task.completed', 'task.failed']);
  enqueue({ type: 'reportStaleResult', params: { workerId: context.workerId, message: event.message, current: context.task } });
});

/**
 * The process is gone: report the task it held as lost (first, while `context.task` is
 * still set), record the exit, report it, and only then clear the task.
 */
const recordExit = (duringShutdown: boolean) =>
  workerSetup.enqueueActions(({ context, event, enqueue }) => {
    assertEvent(event, 'process.exited');
    const exit: ProcessExit = { code: event.code, signal: event.signal };
    if (context.task !== null) {
      enqueue({ type: 'reportTaskLost', params: { workerId: context.workerId, task: context.task, exit, hung: context.hung } });
    }
    enqueue.assign({ exit, pid: null });
    enqueue({ type: 'reportExit', params: { workerId: context.workerId, exit, duringShutdown } });
    enqueue.assign({ task: null });
  });

/**
 * Plans a restart: the delay grows with decorrelated jitter, and starts over when the process
 * had stayed up for `resetAfterMs` since it said ready.
 */
const planRestart = workerSetup.enqueueActions(({ context, event, enqueue }) => {
  assertEvent(event, 'process.exited');
  const policy = context.restartPolicy;
  const healthy = context.readyAt !== null && event.at - context.readyAt >= policy.resetAfterMs;
  const delayMs = nextRestartDelay(healthy ? null : context.restartDelayMs, policy, context.random);
  const restart = context.restarts + 1;
  enqueue.assign({
    restarts: restart,
    restartTimes: [...recentRestarts(context.restartTimes, policy, event.at), event.at],
    restartDelayMs: delayMs,
    readyAt: null,
    hung: false,
    spawnTimedOut: false,
  });
  enqueue({ type: 'reportRestart', params: { workerId: context.workerId, restart, delayMs, exit: { code: event.code, signal: event.signal } } });
});

/** Asks the process to cancel the attempt it holds (always set in `busy`). */
const cancelTask = workerSetup.enqueueActions(({ context, event, enqueue }) => {
  assertEvent(event, 'task.cancel');
  if (context.task === null) return;
  const message: ParentMessage = { type: 'coord:cancel', ...context.task, reason: event.reason };
  enqueue.sendTo('process', { type: 'process.send', message } satisfies ProcessCommand);
});

const signalProcess = (signal: 'SIGTERM' | 'SIGKILL') =>
  workerSetup.sendTo('process', (): ProcessCommand => ({ type: 'process.signal', signal }));

/** An unexpected exit: restart within budget, otherwise `failed`. */
const onCrash = [
  { guard: 'hasRestartBudget' as const, target: 'restarting' as const, actions: [recordExit(false), planRestart] },
  { target: 'failed' as const, actions: recordExit(false) },
];

/** Heartbeats stopped: the process is killed, its task reported lost, and it is restarted. */
const onSilence = {
  target: 'hung' as const,
  actions: workerSetup.enqueueActions(({ context, enqueue }) => {
    enqueue({ type: 'reportHung', params: { workerId: context.workerId, lastHeartbeatAt: context.lastHeartbeatAt } });
  }),
};

/**
 * A worker orchestrator: `spawning → idle ⇄ busy`, then `stopping → exited`. When the
 * process dies on its own it is restarted (`restarting → spawning`) with backoff while its
 * restart policy and intensity allow, else the worker is `failed`. A process whose
 * heartbeats stop for `heartbeatTimeout` is `hung`: killed with SIGKILL, then handled like a
 * crash. `stopping` asks politely (`coord:shutdown`), then sends SIGTERM after
 * `shutdownGrace` and SIGKILL after a further `killGrace`.
 *
 * Events not listed for a state are ignored. In particular `task.assign` while busy is
 * dropped: the dispatcher only assigns to idle workers, so a second one is a caller bug
 * and must not overwrite the lease of the task in flight.
 *
 * @example
 * const actor = createActor(workerMachine.provide({ actors: { runProcess }, actions }), {
 *   input: { workerId: 'w1', worktree: '/repo/.coord/w1', capabilities: [] },
 * }).start();
 */
export const workerMachine = workerSetup.createMachine({
  id: 'worker',
  initial: 'spawning',
  context: ({ input }) => ({
    workerId: input.workerId,
    worktree: input.worktree,
    capabilities: [...input.capabilities],
    restartPolicy: input.restartPolicy ?? DEFAULT_RESTART_POLICY,
    random: input.random ?? Math.random,
    pid: null,
    task: null,
    lastHeartbeatAt: null,
    exit: null,
    spawnTimedOut: false,
    hung: false,
    restarts: 0,
    restartTimes: [],
    restartDelayMs: null,
    readyAt: null,
  }),
  // Final states end the actor, so a root-level handler covers every non-final state.
  on: { 'process.heartbeat': { actions: assign({ lastHeartbeatAt: ({ event }) => event.at }) } },
  states: {
    spawning: {
      // Spawned rather than invoked: the process must outlive `spawning`; it is stopped on
      // entry to `restarting` and to the final states.
      entry: spawnChild('runProcess', {
        id: 'process',
        input: ({ context }) => ({ workerId: context.workerId, worktree: context.worktree, capabilities: context.capabilities }),
      }),
      // A worker that never says ready is stopped with the usual escalation, and its exit
      // then counts as a failure, not an orderly stop.
      after: { spawnTimeout: { target: 'stopping', actions: assign({ spawnTimedOut: true }) } },
      on: {
        'process.ready': {
          target: 'idle',
          actions: [
            assign({ pid: ({ event }) => event.pid, readyAt: ({ event }) => event.at, exit: null }),
            { type: 'reportReady', params: ({ context, event }) => ({ workerId: context.workerId, pid: event.pid }) },
          ],
        },
        'process.exited': onCrash,
        'worker.stop': 'stopping',
      },
    },
    idle: {
      after: { heartbeatTimeout: onSilence },
      on: {
        'task.assign': {
          target: 'busy',
          actions: [
            assign({ task: ({ event }) => ({ taskId: event.message.taskId, attempt: event.message.attempt, lease: event.message.lease }) }),
            sendTo('process', ({ event }): ProcessCommand => ({ type: 'process.send', message: event.message })),
          ],
        },
        // Re-entering restarts the state's heartbeatTimeout timer.
        'process.heartbeat': { target: 'idle', reenter: true, actions: assign({ lastHeartbeatAt: ({ event }) => event.at }) },
        'process.exited': onCrash,
        'worker.stop': 'stopping',
      },
    },
    busy: {
      after: { heartbeatTimeout: onSilence },
      on: {
        'task.completed': [{ guard: 'isLeaseCurrent', target: 'idle', actions: finishTask }, { actions: reportStale }],
        'task.failed': [{ guard: 'isLeaseCurrent', target: 'idle', actions: finishTask }, { actions: reportStale }],
        'task.cancel': { actions: cancelTask },
        'process.heartbeat': { target: 'busy', reenter: true, actions: assign({ lastHeartbeatAt: ({ event }) => event.at }) },
        'process.exited': onCrash,
        'worker.stop': 'stopping',
      },
    },
    hung: {
      // A hung process may not read its IPC channel: no polite shutdown, SIGKILL at once.
      entry: [assign({ hung: true }), signalProcess('SIGKILL')],
      on: {
        // A result that arrives while the kill is on its way still counts.
        'task.completed': [{ guard: 'isLeaseCurrent', actions: finishTask }, { actions: reportStale }],
        'task.failed': [{ guard: 'isLeaseCurrent', actions: finishTask }, { actions: reportStale }],
        'process.exited': onCrash,
        'worker.stop': 'stopping',
      },
    },
    restarting: {
      entry: stopChild('process'),
      after: { restartDelay: 'spawning' },
      on: { 'worker.stop': 'exited' },
    },
    stopping: {
      initial: 'asking',
      entry: sendTo('process', (): ProcessCommand => ({ type: 'process.send', message: { type: 'coord:shutdown', graceMs: SHUTDOWN_GRACE_MS } })),
      on: {
        // Results racing the shutdown are still delivered. Targetless, so the current
        // substate and its escalation timer are kept. `task.cancel` and `worker.stop` are
        // ignored here: the shutdown already ends the attempt.
        'task.completed': [{ guard: 'isLeaseCurrent', actions: finishTask }, { actions: reportStale }],
        'task.failed': [{ guard: 'isLeaseCurrent', actions: finishTask }, { actions: reportStale }],
        'process.exited': [
          { guard: ({ context }) => context.spawnTimedOut, target: 'failed', actions: recordExit(false) },
          { target: 'exited', actions: recordExit(true) },
        ],
      },
      states: {
        asking: { after: { shutdownGrace: 'terminating' } },
        terminating: { entry: signalProcess('SIGTERM'), after: { killGrace: 'killing' } },
        // SIGKILL cannot be ignored; the process's `process.exited` ends this state.
        killing: { entry: signalProcess('SIGKILL') },
      },
    },
    exited: { type: 'final', entry: stopChild('process') },
    failed: { type: 'final', entry: stopChild('process') },
  },
});
