/**
 * Types of the worker machine (machines/worker.ts): its input, context, events, the commands
 * it sends its process, and the params of its named report actions.
 */
import type { ParentMessage, ParentMessageOf, WorkerMessageOf } from '../src/protocol/messages.js';
import type { DeathCause, RestartPolicy } from './restart-policy.js';

/** What a worker machine is created with. */
export interface WorkerInput {
  workerId: string;
  worktree: string;
  capabilities: string[];
  /** How the worker is restarted when its process dies (default {@link DEFAULT_RESTART_POLICY}). */
  restartPolicy?: RestartPolicy;
  /** Randomness for restart jitter (default Math.random); tests pass a fixed one. */
  random?: () => number;
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
export interface WorkerContext {
  workerId: string;
  worktree: string;
  capabilities: string[];
  restartPolicy: RestartPolicy;
  random: () => number;
  pid: number | null;
  task: TaskLease | null;
  lastHeartbeatAt: number | null;
  exit: ProcessExit | null;
  /** The process never said ready within `spawnTimeout`. */
  spawnTimedOut: boolean;
  /** Heartbeats stopped: the process was killed as hung. */
  hung: boolean;
  /** Restarts so far, whatever caused them, cool-downs included (the summary's `restarts`). */
  restarts: number;
  /** Epoch ms of recent restarts of any cause (a crash loop, for the fallback chains). */
  restartTimes: number[];
  /** Epoch ms of recent unstable restarts: restart intensity counts only these. */
  unstableTimes: number[];
  /** The delay before the pending (or last) restart; null before the first or after a healthy run. */
  restartDelayMs: number | null;
  /** Epoch ms the current process said ready. */
  readyAt: number | null;
  /** Some process of this slot has said ready: the program can start, so the slot cools down rather than fails. */
  everReady: boolean;
  /** The pending (or last) cool-down; null before the first or after a healthy run. */
  coolDownMs: number | null;
  /** Cool-downs so far. */
  coolDowns: number;
  /** What the last unexpected exit was charged to; null before one. */
  lastDeathCause: DeathCause | null;
}

/** A task's final answer as the worker process sent it. */
export type TaskResultMessage = WorkerMessageOf<'coord:complete'> | WorkerMessageOf<'coord:failed'>;

/** Events the worker machine accepts: `process.*` and `task.*` come from `runProcess`. */
export type WorkerEvent =
  | { type: 'process.ready'; pid: number; at: number }
  | { type: 'process.heartbeat'; at: number }
  | { type: 'process.exited'; code: number | null; signal: string | null; at: number }
  | { type: 'task.assign'; message: ParentMessageOf<'coord:assign'> }
  | { type: 'task.completed'; message: WorkerMessageOf<'coord:complete'> }
  | { type: 'task.failed'; message: WorkerMessageOf<'coord:failed'> }
  | { type: 'task.cancel'; reason: string; graceful?: 'SIGTERM' | 'SIGINT' }
  /** Type a message into the held attempt's live session (forwarded only under the current lease). */
  | { type: 'task.input'; message: ParentMessageOf<'coord:input'> }
  /** Tell the process about the held task (a predicted conflict); forwarded only while it holds that task. */
  | { type: 'task.notify'; message: ParentMessageOf<'coord:conflict'> }
  | { type: 'worker.stop' };

/** What the machine sends to the `process` child: write an IPC message, or signal it. */
export type ProcessCommand =
  | { type: 'process.send'; message: ParentMessage }
  | { type: 'process.signal'; signal: 'SIGTERM' | 'SIGKILL' };

/** The input `runProcess` is spawned with. */
export type RunProcessInput = Pick<WorkerInput, 'workerId' | 'worktree' | 'capabilities'>;

/** The params each named report action receives as its second argument. */
export interface WorkerActionParams {
  reportReady: { workerId: string; pid: number };
  /** A result for an attempt the worker no longer holds; `current` is what it holds now. */
  reportStaleResult: { workerId: string; message: TaskResultMessage; current: TaskLease | null };
  /** `duringShutdown`: the exit ended a `stopping` state, not a crash. */
  reportExit: { workerId: string; exit: ProcessExit; duringShutdown: boolean };
  /** The worker will be restarted after `delayMs` (its `restart`-th restart); `cause`: what its death is charged to. */
  reportRestart: { workerId: string; restart: number; delayMs: number; exit: ProcessExit; cause: DeathCause };
  /** Restart intensity ran out: the worker waits `delayMs` (its `coolDown`-th cool-down), then spawns afresh. */
  reportCoolingDown: { workerId: string; coolDown: number; delayMs: number; exit: ProcessExit };
  /** Heartbeats stopped (the last one at `lastHeartbeatAt`); the process is being killed. */
  reportHung: { workerId: string; lastHeartbeatAt: number | null };
}

/**
 * What the machine emits for the supervisor to apply (listen with `actor.on(type, …)`). XState
 * delivers emitted events after the transition, with the snapshot already updated, so the
 * listener may read it and send to other actors; the payload carries everything it needs.
 */
export type WorkerEmitted =
  /** A result for the task the worker held (lease, taskId and attempt all current). */
  | { type: 'task.result'; workerId: string; message: TaskResultMessage }
  /** The process exited while holding `task` (`hung`: killed for missing heartbeats). */
  | { type: 'task.lost'; workerId: string; task: TaskLease; exit: ProcessExit; hung: boolean };

/**
 * The `graceMs` sent in `coord:shutdown`. It matches the default `shutdownGrace` delay;
 * a `.provide()`d delay does not change it (delays cannot be read from actions).
 */
export const SHUTDOWN_GRACE_MS = 5_000;
