/**
 * The public shape of a running supervisor: what `createSupervisor()` returns and what
 * `status()` reports. The wiring that implements it is in supervisor.ts.
 */
import type { InspectionHub } from '../inspect/hub.js';
import type { CoordinationSummary } from './summary.js';
import type { MailMessage, Override } from '../mailbox/types.js';
import type { Actor } from 'xstate';
import type { coordinatorMachine, CoordinatorState } from '../../machines/coordinator.js';
import type { TaskSpecInput } from '../tasks/spec.js';
import type { SupervisorEventBus } from './events.js';
import type { LiveSettings } from './live-settings.js';
import type { Liveness } from '../agents/liveness.js';
import type { ReconfigureResult } from './reconfigure.js';
import type { ScaleResult } from './scaling.js';
import type { RunSummary } from './summary.js';
import type { RunPaths } from './runtime.js';
import type { WorkerDescription } from './worker-registry.js';
import type { PoolStatus } from '../pools/readiness.js';
import type { WaitForPoolOptions } from '../pools/wait-for-pool.js';

export type { WaitForPoolOptions } from '../pools/wait-for-pool.js';
export type { PoolStatus } from '../pools/readiness.js';

/** The root actor: the coordinator machine with coord's effects provided. */
export type CoordinatorActor = Actor<typeof coordinatorMachine>;

/** A point-in-time view of the supervisor. */
export interface SupervisorStatus {
  state: CoordinatorState;
  /** coord's workers, each with its pool; a worker still running its pool's setup is `setup`, one whose setup failed `setup-failed` (with `error`). */
  workers: Array<WorkerDescription & { pool: string; error?: { code: string; message: string; logFile: string } | null }>;
  /** Each pool's readiness (docs/intake-and-pools.md). */
  pools: PoolStatus[];
  counts: Partial<Record<string, number>>;
  breakers: Array<{ scope: string; state: string }>;
  protocolRefusals: number;
  /** Running agent tasks' liveness by task id (`progressing`, `quiet`, `stalled`). */
  liveness: Record<string, Liveness>;
  /** Where this run keeps things (null before the start opened them). */
  paths: RunPaths | null;
  /** Each rate-limited key's state (docs/coordination.md). */
  rateLimits: CoordinationSummary['rateLimits'];
  /** Each budget scope with spend or a cap. */
  budgets: CoordinationSummary['budgets'];
  /** The merge queue's target and counts; null without one. */
  merge: CoordinationSummary['merge'];
  /** Predicted conflicts between live task branches. */
  conflicts: CoordinationSummary['conflicts'];
  /** Ready tasks held back, by task id: `code` (BUDGET_EXCEEDED, FILES_BUSY, RATE_LIMITED; null for an open breaker) and `scope`. */
  held: Record<string, { code: string | null; scope: string }>;
}

/** Which tasks a {@link Supervisor.summary} lists. */
export interface SummaryFilter {
  ids?: readonly string[];
  status?: string;
}

/** A running coord supervisor. Create it with {@link createSupervisor}. */
export interface Supervisor {
  /** The coordinator actor (root of every machine), for inspection. */
  readonly actor: CoordinatorActor;
  /** Every machine's inspection stream (docs/inspector.md): subscribe a client to get the live actors, then their changes; null with `inspect: false`. */
  readonly inspection: InspectionHub | null;
  /** Typed `coord:*` events. */
  readonly events: SupervisorEventBus;
  /** Opens the repository, prepares worktrees, forks workers; resolves when running. */
  start(): Promise<void>;
  /** Validates and enqueues tasks, all or nothing. Resolves with the ids added. */
  submit(tasks: readonly TaskSpecInput[]): Promise<string[]>;
  status(): SupervisorStatus;
  /** Resolves when every submitted task is terminal (complete, dead, blocked, cancelled), or the run failed. */
  settled(): Promise<void>;
  /** Stops assigning, lets running tasks finish until the deadline, then stops. */
  drain(deadlineMs?: number): Promise<void>;
  /** Cancels running tasks (back to ready, no attempt burned) and stops at once. */
  stop(): Promise<void>;
  /**
   * The run summary (the `--summary` contract), built from the store; `filter` keeps only the
   * tasks named in `ids` and/or of `status` (the counts stay the whole store's).
   */
  summary(filter?: SummaryFilter): Promise<RunSummary>;
  /** Puts a dead task back to `ready` with a fresh attempt budget, and its blocked dependents back in play. */
  redrive(taskId: string): Promise<string[]>;
  /**
   * Cancels a task that is not finished (a running attempt is stopped; its dependents are
   * blocked). Resolves with the tasks changed; `TASK_NOT_FOUND` for an unknown task,
   * `TASK_STATE_CONFLICT` for one already terminal.
   */
  cancel(taskId: string): Promise<string[]>;
  /**
   * Changes the worker count while running: new workers are forked at once (each with its
   * worktree), removed ones stop once their task is done.
   */
  setWorkers(count: number): Promise<ScaleResult>;
  /** Each pool's readiness, as `GET /pools` (the implicit `default` pool without `pools`). */
  pools(): PoolStatus[];
  /** One pool's readiness, as `GET /pools/{id}/status`; `POOL_NOT_FOUND` for a pool not declared. */
  pool(id: string): PoolStatus;
  /**
   * Resolves with the pool's status once it is ready, looking every `pollMs` (default 5 s) and
   * at every change of its readiness. Rejects with `POOL_NOT_FOUND` for a pool not declared,
   * `POOL_NOT_READY` when `timeoutMs` passes first, `NOT_RUNNING` when the supervisor stops.
   */
  waitForPool(id: string, options?: WaitForPoolOptions): Promise<PoolStatus>;
  /** Applies live settings (see {@link LiveSettings}); each change is logged and announced as `coord:reconfigured`. */
  reconfigure(settings: LiveSettings): Promise<ReconfigureResult>;
  /**
   * Adds a message to an agent task's thread; the mailbox delivers it (typed into a live
   * session, or the session resumed with it). With no run going, it waits in the store for
   * the next supervisor. `BAD_REQUEST` for a task that is not an agent task,
   * `TASK_STATE_CONFLICT` for one that takes no more messages, `PAYLOAD_*` for a refused text.
   */
  message(taskId: string, text: string): Promise<MailMessage>;
  /**
   * Lifts a loop safeguard's block (`LOOP_NO_PROGRESS`, `LOOP_REPEATED_FINDING`): `reason` is
   * required (`USAGE` without) and kept with the override in the task's mailbox, the log and
   * the event `coord:overridden`.
   */
  unblock(taskId: string, reason: string): Promise<Override>;
}

