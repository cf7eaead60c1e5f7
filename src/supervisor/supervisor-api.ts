/**
 * The public shape of a running supervisor: what `createSupervisor()` returns and what
 * `status()` reports. The wiring that implements it is in supervisor.ts.
 */
import type { Actor } from 'xstate';
import type { coordinatorMachine, CoordinatorState } from '../../machines/coordinator.js';
import type { TaskSpecInput } from '../tasks/spec.js';
import type { SupervisorEventBus } from './events.js';
import type { RunSummary } from './summary.js';
import type { RunPaths } from './runtime.js';
import type { WorkerRegistry } from './worker-registry.js';

/** The root actor: the coordinator machine with coord's effects provided. */
export type CoordinatorActor = Actor<typeof coordinatorMachine>;

/** A point-in-time view of the supervisor. */
export interface SupervisorStatus {
  state: CoordinatorState;
  workers: ReturnType<WorkerRegistry['describe']>;
  counts: Partial<Record<string, number>>;
  breakers: Array<{ scope: string; state: string }>;
  protocolRefusals: number;
  /** Where this run keeps things (null before the start opened them). */
  paths: RunPaths | null;
}

/** A running coord supervisor. Create it with {@link createSupervisor}. */
export interface Supervisor {
  /** The coordinator actor (root of every machine), for inspection. */
  readonly actor: CoordinatorActor;
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
  /** The run summary (the `--summary` contract), built from the store. */
  summary(): Promise<RunSummary>;
  /** Puts a dead task back to `ready` with a fresh attempt budget, and its blocked dependents back in play. */
  redrive(taskId: string): Promise<string[]>;
}
