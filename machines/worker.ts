/**
 * One worker orchestrator's lifecycle, as a pure machine definition: no process is forked
 * and nothing is logged here. The child process is the callback actor `runProcess` and
 * every report is a named action; `src/` supplies both with `.provide()`. What the supervisor
 * must act on — a task's result, a task lost with its process — is emitted (`task.result`,
 * `task.lost`: {@link WorkerEmitted}), and XState delivers it after the transition.
 *
 * Named actions receive their data as typed action **params** (the second argument of the
 * implementation, see {@link WorkerActionParams}); an implementation never needs to read
 * `event` or `context`. The params are resolved at the point in the action list where the
 * action runs.
 *
 * Time comes in on events (`process.ready.at`, `process.exited.at`), never from a clock,
 * so restart intensity and backoff are tested with plain numbers. The setup (effects,
 * guards, delays) is in worker-setup.ts, what happens when the process dies in worker-exits.ts.
 */
import { assertEvent, assign, sendTo, spawnChild, stopChild } from 'xstate';
import type { ParentMessage } from '../src/protocol/messages.js';
import { DEFAULT_RESTART_POLICY } from './restart-policy.js';
import { onCrash, onStoppedExit } from './worker-exits.js';
import { workerSetup } from './worker-setup.js';
import { SHUTDOWN_GRACE_MS, type ProcessCommand } from './worker-types.js';

export * from './worker-types.js';

/** Emits a current result for the supervisor to apply, then drops the task. */
const finishTask = workerSetup.enqueueActions(({ context, event, enqueue }) => {
  assertEvent(event, ['task.completed', 'task.failed']);
  enqueue.emit({ type: 'task.result', workerId: context.workerId, message: event.message });
  enqueue.assign({ task: null });
});

const reportStale = workerSetup.enqueueActions(({ context, event, enqueue }) => {
  assertEvent(event, ['task.completed', 'task.failed']);
  enqueue({ type: 'reportStaleResult', params: { workerId: context.workerId, message: event.message, current: context.task } });
});

/** Asks the process to cancel the attempt it holds (always set in `busy`). */
const cancelTask = workerSetup.enqueueActions(({ context, event, enqueue }) => {
  assertEvent(event, 'task.cancel');
  if (context.task === null) return;
  const message: ParentMessage = { type: 'coord:cancel', ...context.task, reason: event.reason, graceful: event.graceful ?? 'SIGTERM' };
  enqueue.sendTo('process', { type: 'process.send', message } satisfies ProcessCommand);
});

/** Forwards a message for the held attempt's session to the process, if the lease is the one held. */
const forwardInput = workerSetup.enqueueActions(({ context, event, enqueue }) => {
  assertEvent(event, 'task.input');
  if (context.task === null || context.task.lease !== event.message.lease) return;
  enqueue.sendTo('process', { type: 'process.send', message: event.message } satisfies ProcessCommand);
});

/** Forwards a note about the held task (a predicted conflict) to the process, if it still holds that task. */
const forwardNote = workerSetup.enqueueActions(({ context, event, enqueue }) => {
  assertEvent(event, 'task.notify');
  if (context.task === null || context.task.taskId !== event.message.taskId) return;
  enqueue.sendTo('process', { type: 'process.send', message: event.message } satisfies ProcessCommand);
});

const signalProcess = (signal: 'SIGTERM' | 'SIGKILL') =>
  workerSetup.sendTo('process', (): ProcessCommand => ({ type: 'process.signal', signal }));

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
 * restart policy and intensity allow — intensity counts only unstable deaths, not a task's
 * (see worker-exits.ts). With intensity used up, a slot that has been ready before waits
 * (`coolingDown → spawning`); one that never was, or whose restart type wants no restart,
 * is `failed`. A process whose heartbeats stop for `heartbeatTimeout` is `hung`: killed
 * with SIGKILL, then handled like a crash; one that does not say ready within
 * `spawnTimeout` is stopped, and its exit handled like a death before ready. `stopping` asks politely (`coord:shutdown`), then sends SIGTERM after
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
    unstableTimes: [],
    restartDelayMs: null,
    readyAt: null,
    everReady: false,
    coolDownMs: null,
    coolDowns: 0,
    lastDeathCause: null,
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
      // then counts as an unstable death, not an orderly stop.
      after: { spawnTimeout: { target: 'stopping', actions: assign({ spawnTimedOut: true }) } },
      on: {
        'process.ready': {
          target: 'idle',
          actions: [
            assign({ pid: ({ event }) => event.pid, readyAt: ({ event }) => event.at, everReady: true, exit: null }),
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
        'task.input': { actions: forwardInput },
        'task.notify': { actions: forwardNote },
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
    // Restart intensity ran out: a longer wait (reported with its delay), then a fresh start.
    coolingDown: {
      entry: stopChild('process'),
      after: { coolDown: 'spawning' },
      on: { 'worker.stop': 'exited' },
    },
    stopping: {
      initial: 'asking',
      entry: sendTo('process', (): ProcessCommand => ({ type: 'process.send', message: { type: 'coord:shutdown', graceMs: SHUTDOWN_GRACE_MS } })),
      on: {
        // Results racing the shutdown are still delivered. Targetless, so the current
        // substate and its escalation timer are kept. `task.cancel` is ignored here: the
        // shutdown already ends the attempt.
        'task.completed': [{ guard: 'isLeaseCurrent', actions: finishTask }, { actions: reportStale }],
        'task.failed': [{ guard: 'isLeaseCurrent', actions: finishTask }, { actions: reportStale }],
        // A stop asked for while a spawn timeout is being stopped makes its exit an orderly
        // one: otherwise it would be restarted, and the drain waiting for it would never end.
        'worker.stop': { actions: assign({ spawnTimedOut: false }) },
        'process.exited': onStoppedExit,
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
