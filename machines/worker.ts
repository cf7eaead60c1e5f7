/**
 * One worker orchestrator's lifecycle, as a pure machine definition: no process is forked
 * and nothing is logged here. The child process is the callback actor `runProcess` and
 * every report is a named action; `src/` supplies both with `.provide()`.
 *
 * Named actions receive their data as typed action **params** (the second argument of the
 * implementation, see {@link WorkerActionParams}); an implementation never needs to read
 * `event` or `context`. The params are resolved at the point in the action list where the
 * action runs, so `reportTaskLost` and `reportTaskResult` still see the task in `context`.
 */
import { assertEvent, assign, fromCallback, sendTo, setup, spawnChild, stopChild } from 'xstate';
import type { ParentMessage, ParentMessageOf, WorkerMessageOf } from '../src/protocol/messages.js';

/** What a worker machine is created with. */
export interface WorkerInput {
  workerId: string;
  worktree: string;
  capabilities: string[];
}

/** The attempt a worker holds; all three must match for a result to count. */
export interface TaskLease {
  taskId: string;
  attempt: number;
  lease: string;
}

/** How the child process ended: an exit code, or the signal that killed it. */
export interface ProcessExit {
  code: number | null;
  signal: string | null;
}

/** The worker machine's context. */
export interface WorkerContext extends WorkerInput {
  pid: number | null;
  task: TaskLease | null;
  lastHeartbeatAt: number | null;
  exit: ProcessExit | null;
  /** The process never said ready within `spawnTimeout`. */
  spawnTimedOut: boolean;
}

/** A task's final answer as the worker process sent it. */
export type TaskResultMessage = WorkerMessageOf<'coord:complete'> | WorkerMessageOf<'coord:failed'>;

/** Events the worker machine accepts: `process.*` and `task.*` come from `runProcess`. */
export type WorkerEvent =
  | { type: 'process.ready'; pid: number }
  | { type: 'process.heartbeat'; at: number }
  | { type: 'process.exited'; code: number | null; signal: string | null }
  | { type: 'task.assign'; message: ParentMessageOf<'coord:assign'> }
  | { type: 'task.completed'; message: WorkerMessageOf<'coord:complete'> }
  | { type: 'task.failed'; message: WorkerMessageOf<'coord:failed'> }
  | { type: 'task.cancel'; reason: string }
  | { type: 'worker.stop' };

/** What the machine sends to the `process` child: write an IPC message, or signal it. */
export type ProcessCommand =
  | { type: 'process.send'; message: ParentMessage }
  | { type: 'process.signal'; signal: 'SIGTERM' | 'SIGKILL' };

/** The input `runProcess` is spawned with. */
export type RunProcessInput = WorkerInput;

/** The params each named report action receives as its second argument. */
export interface WorkerActionParams {
  reportReady: { workerId: string; pid: number };
  /** A result for the task the worker holds (lease, taskId and attempt all current). */
  reportTaskResult: { workerId: string; message: TaskResultMessage };
  /** A result for an attempt the worker no longer holds; `current` is what it holds now. */
  reportStaleResult: { workerId: string; message: TaskResultMessage; current: TaskLease | null };
  /** The process exited while holding `task`; called before the task is cleared. */
  reportTaskLost: { workerId: string; task: TaskLease; exit: ProcessExit };
  /** `duringShutdown`: the exit ended a `stopping` state, not a crash. */
  reportExit: { workerId: string; exit: ProcessExit; duringShutdown: boolean };
}

/**
 * The `graceMs` sent in `coord:shutdown`. It matches the default `shutdownGrace` delay;
 * a `.provide()`d delay does not change it (delays cannot be read from actions).
 */
export const SHUTDOWN_GRACE_MS = 5_000;

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
  },
  guards: {
    isLeaseCurrent: ({ context, event }) => {
      if (event.type !== 'task.completed' && event.type !== 'task.failed') return false;
      const { task } = context;
      const { message } = event;
      return (
        task !== null &&
        message.taskId === task.taskId &&
        message.attempt === task.attempt &&
        message.lease === task.lease
      );
    },
  },
  delays: {
    spawnTimeout: 10_000,
    shutdownGrace: SHUTDOWN_GRACE_MS,
    killGrace: 2_000,
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
  enqueue({
    type: 'reportStaleResult',
    params: { workerId: context.workerId, message: event.message, current: context.task },
  });
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
      enqueue({ type: 'reportTaskLost', params: { workerId: context.workerId, task: context.task, exit } });
    }
    enqueue.assign({ exit });
    enqueue({ type: 'reportExit', params: { workerId: context.workerId, exit, duringShutdown } });
    enqueue.assign({ task: null });
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

/**
 * A worker orchestrator: `spawning → idle ⇄ busy`, then `stopping → exited`, or `failed`
 * when the process dies on its own. `stopping` asks politely (`coord:shutdown`), then
 * sends SIGTERM after `shutdownGrace` and SIGKILL after a further `killGrace`.
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
    pid: null,
    task: null,
    lastHeartbeatAt: null,
    exit: null,
    spawnTimedOut: false,
  }),
  // Final states end the actor, so a root-level handler covers every non-final state.
  on: { 'process.heartbeat': { actions: assign({ lastHeartbeatAt: ({ event }) => event.at }) } },
  states: {
    spawning: {
      // Spawned rather than invoked: the process must outlive `spawning` and is only
      // stopped on entry to a final state.
      entry: spawnChild('runProcess', {
        id: 'process',
        input: ({ context }) => ({
          workerId: context.workerId,
          worktree: context.worktree,
          capabilities: context.capabilities,
        }),
      }),
      // A worker that never says ready is stopped with the usual escalation, and its exit
      // then counts as a failure, not an orderly stop.
      after: { spawnTimeout: { target: 'stopping', actions: assign({ spawnTimedOut: true }) } },
      on: {
        'process.ready': {
          target: 'idle',
          actions: [
            assign({ pid: ({ event }) => event.pid }),
            { type: 'reportReady', params: ({ context, event }) => ({ workerId: context.workerId, pid: event.pid }) },
          ],
        },
        'process.exited': { target: 'failed', actions: recordExit(false) },
        'worker.stop': 'stopping',
      },
    },
    idle: {
      on: {
        'task.assign': {
          target: 'busy',
          actions: [
            assign({
              task: ({ event }) => ({
                taskId: event.message.taskId,
                attempt: event.message.attempt,
                lease: event.message.lease,
              }),
            }),
            sendTo('process', ({ event }): ProcessCommand => ({ type: 'process.send', message: event.message })),
          ],
        },
        'process.exited': { target: 'failed', actions: recordExit(false) },
        'worker.stop': 'stopping',
      },
    },
    busy: {
      on: {
        'task.completed': [{ guard: 'isLeaseCurrent', target: 'idle', actions: finishTask }, { actions: reportStale }],
        'task.failed': [{ guard: 'isLeaseCurrent', target: 'idle', actions: finishTask }, { actions: reportStale }],
        'task.cancel': { actions: cancelTask },
        'process.exited': { target: 'failed', actions: recordExit(false) },
        'worker.stop': 'stopping',
      },
    },
    stopping: {
      initial: 'asking',
      entry: sendTo(
        'process',
        (): ProcessCommand => ({ type: 'process.send', message: { type: 'coord:shutdown', graceMs: SHUTDOWN_GRACE_MS } }),
      ),
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
