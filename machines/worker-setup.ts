/**
 * The worker machine's `setup()`: its types, the named effects `src/` provides, its guards
 * and delays. Shared by the machine (worker.ts) and its exit handling (worker-exits.ts), so
 * neither has to import the other.
 */
import { fromCallback, setup } from 'xstate';
import { classifyDeath, wantsRestart, withinIntensity, type DeathCause } from './restart-policy.js';
import {
  SHUTDOWN_GRACE_MS,
  type ProcessCommand,
  type ProcessExit,
  type RunProcessInput,
  type WorkerActionParams,
  type WorkerContext,
  type WorkerEmitted,
  type WorkerEvent,
  type WorkerInput,
} from './worker-types.js';

/** A named effect whose real implementation `src/` supplies with `.provide()`. */
const notProvided =
  <P>() =>
  (_args: unknown, _params: P): void => {};

/**
 * What a death at `at` is charged to. Read it in guards (evaluated before any action) or
 * from `lastDeathCause` afterwards: `recordExit` clears the task it depends on.
 */
export function deathCause(context: WorkerContext, at: number): DeathCause {
  return classifyDeath({ holdingTask: context.task !== null, readyAt: context.readyAt, at }, context.restartPolicy);
}

/**
 * The restart type wants this exit restarted. A process coord killed itself — hung, or too
 * slow to say ready — did not end normally whatever its exit code, so `transient` restarts it too.
 */
function restartWanted(context: WorkerContext, exit: ProcessExit): boolean {
  if (context.hung || context.spawnTimedOut) return context.restartPolicy.restart !== 'temporary';
  return wantsRestart(context.restartPolicy, exit);
}

/** The worker machine's setup; `workerMachine` is built from it. */
export const workerSetup = setup({
  types: {
    input: {} as WorkerInput,
    context: {} as WorkerContext,
    events: {} as WorkerEvent,
    emitted: {} as WorkerEmitted,
  },
  actors: {
    /** Forks and watches the child process; a placeholder until `src/` provides it. */
    runProcess: fromCallback<ProcessCommand, RunProcessInput>(() => {}),
  },
  actions: {
    reportReady: notProvided<WorkerActionParams['reportReady']>(),
    reportStaleResult: notProvided<WorkerActionParams['reportStaleResult']>(),
    reportExit: notProvided<WorkerActionParams['reportExit']>(),
    reportRestart: notProvided<WorkerActionParams['reportRestart']>(),
    reportCoolingDown: notProvided<WorkerActionParams['reportCoolingDown']>(),
    reportHung: notProvided<WorkerActionParams['reportHung']>(),
  },
  guards: {
    isLeaseCurrent: ({ context, event }) => {
      if (event.type !== 'task.completed' && event.type !== 'task.failed') return false;
      const { task } = context;
      const { message } = event;
      return task !== null && message.taskId === task.taskId && message.attempt === task.attempt && message.lease === task.lease;
    },
    /**
     * The restart type wants this exit restarted, and restart intensity allows it: only an
     * unstable death is counted, a task's or a long-running worker's is always allowed.
     */
    hasRestartBudget: ({ context, event }) => {
      if (event.type !== 'process.exited') return false;
      if (!restartWanted(context, { code: event.code, signal: event.signal })) return false;
      return deathCause(context, event.at) !== 'unstable' || withinIntensity(context.unstableTimes, context.restartPolicy, event.at);
    },
    /**
     * Intensity ran out, but the restart type wants a restart and this slot's program has
     * started before: wait it out. A slot that never got ready fails instead, so a worker
     * program that cannot start ends the run rather than retrying forever.
     */
    canCoolDown: ({ context, event }) =>
      event.type === 'process.exited' && context.everReady && restartWanted(context, { code: event.code, signal: event.signal }),
    /** The process being stopped is one that never said ready in time. */
    spawnTimedOut: ({ context }) => context.spawnTimedOut,
  },
  delays: {
    spawnTimeout: 10_000,
    shutdownGrace: SHUTDOWN_GRACE_MS,
    killGrace: 2_000,
    /** Heartbeat interval × missed beats; `src/` provides it from its configuration. */
    heartbeatTimeout: 6_000,
    restartDelay: ({ context }) => context.restartDelayMs ?? 0,
    coolDown: ({ context }) => context.coolDownMs ?? 0,
  },
});
