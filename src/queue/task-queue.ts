/**
 * The task queue: the lifecycle of task records (submit, dispatch, outcomes, retries,
 * blocking) as one public API. Each transition is checked here (status, lease fencing) and
 * carried out by the module for its concern — `submission`, `in-flight`, `verdicts`,
 * `dependents`, `redrive` — over a `TaskTable`, which keeps the indexes in step; the queries
 * live in `TaskQueueView`. Synchronous and free of I/O: time comes in as `now` (epoch ms)
 * arguments, randomness through the constructor, and nothing is emitted — the supervisor
 * calls these methods and reads the records (and `takeChanged`) to persist and announce
 * what happened.
 *
 * Cost: every operation is O(log n) for the task it touches plus O(1) per dependency edge it
 * follows; nothing rescans the graph.
 */
import type { TaskSpec } from '../tasks/spec.js';
import { canServeWith } from './capabilities.js';
import { blockDependents, endTask } from './dependents.js';
import { crashRelease, type NodeRelease } from './crash-release.js';
import { expiredRecords, extendLeases, inFlightRecords, openAttempt, releaseAttempt, startAttempt } from './in-flight.js';
import { leaseExpiredFailure } from './leases.js';
import type { Completion, FailOutcome, Failure } from './outcomes.js';
import type { NeedsFilter } from './ready-set.js';
import { redriveTask } from './redrive.js';
import { DEFAULT_MAX_RELEASES } from './release-budget.js';
import { decideRetry, type RetryDecision } from './retry-decision.js';
import { DEFAULT_BACKOFF, type BackoffPolicy } from './retry-delay.js';
import { submitSpecs } from './submission.js';
import { TaskQueueView } from './task-queue-view.js';
import { TASK_STATUSES, TERMINAL_STATUSES, isLeaseCurrent } from './task-record.js';
import type { MutableTaskRecord, TaskError, TaskRecord } from './task-record.js';
import { completeAttempt, failAttempt } from './verdicts.js';

export { TASK_STATUSES, TERMINAL_STATUSES, TaskQueueView, isLeaseCurrent };
export type { AttemptRecord, TaskError, TaskRecord, TaskStatus } from './task-record.js';
export type { Completion, FailOutcome, Failure } from './outcomes.js';
export type { NeedsFilter } from './ready-set.js';
export type { NodeRelease } from './crash-release.js';

/** A claim on the queue: {@link TaskQueue.claim}. */
export interface QueueClaim {
  nodeId: string;
  workerId: string;
  /** Only tasks whose `needs` are a subset are claimed. */
  capabilities: readonly string[];
  lease: string;
  /** Epoch ms at which the lease expires unless extended. */
  expiresAt: number;
  now: number;
  /** Claim exactly this task, if it is ready and servable. */
  taskId?: string;
}

/** An attempt whose lease expired, failed by {@link TaskQueue.reapExpired}. */
export interface ReapedAttempt {
  taskId: string;
  lease: string;
  nodeId: string | null;
  workerId: string | null;
  outcome: FailOutcome;
}

/** Queue-wide defaults for what a task spec leaves out. */
export interface TaskQueueOptions {
  /** Attempts for a task whose spec has no `maxAttempts` (default 1: no retries). */
  maxAttempts?: number;
  /** Backoff for a task whose spec has no `backoff` (default 1 s, ×2, at most 60 s). */
  backoff?: BackoffPolicy;
  /** Uniform in [0, 1); injected so tests can pin the retry jitter (default `Math.random`). */
  random?: () => number;
  /** Crash-releases (`releaseNode`) before a task is dead with `TASK_KILLS_SUPERVISOR` (default 3). */
  maxReleases?: number;
}

/**
 * Task records and their lifecycle.
 *
 * Dispatch: {@link readyTasks} walks the ready tasks best first without removing them and
 * {@link assign} claims one, so a task no idle worker can take (capability mismatch) is
 * passed over and keeps its place. Both take an optional filter on capability sets: with
 * it, tasks no idle worker could take are not even visited ({@link peekReady} likewise).
 *
 * @example
 * const queue = new TaskQueue({ maxAttempts: 3 });
 * queue.submit(specs);
 * const now = Date.now();
 * for (const task of queue.readyTasks(now)) {
 *   const slot = strategy(task, idleSlots);
 *   if (slot === null) continue; // nobody idle can take it: it stays ready
 *   const attempt = queue.assign(task.spec.id, slot.workerId, lease, now);
 * }
 * // later, from the worker's answers:
 * queue.markRunning(id, lease, Date.now());
 * queue.complete(id, lease, { exitCode: 0, result: null, commit, now: Date.now() });
 */
export class TaskQueue extends TaskQueueView {
  private readonly defaultMaxAttempts: number;
  private readonly defaultBackoff: BackoffPolicy;
  private readonly random: () => number;
  private readonly maxReleases: number;

  constructor(options: TaskQueueOptions = {}) {
    super();
    this.maxReleases = options.maxReleases ?? DEFAULT_MAX_RELEASES;
    this.defaultMaxAttempts = options.maxAttempts ?? 1;
    this.defaultBackoff = options.backoff ?? DEFAULT_BACKOFF;
    this.random = options.random ?? Math.random;
  }

  /**
   * Adds `specs` (already parsed with `TaskSpecSchema`) all or nothing; returns the ids added.
   * Re-submitting a spec identical (canonical JSON) to a known task is a no-op; a different
   * spec under a known id throws `TASK_EXISTS`; graph errors throw as in `validateGraph`
   * (dependencies may name known tasks). A dependency already complete counts as met; one
   * already dead, blocked or cancelled blocks the new task at once (stamped `finishedAt` when
   * `now` is given).
   */
  submit(specs: readonly TaskSpec[], now?: number): string[] {
    return submitSpecs(this.table, specs, now);
  }

  /** Moves retries whose backoff has passed from `failed` to `ready`; returns their ids. */
  promoteDue(now: number): string[] {
    return this.table.promoteDue(now);
  }

  /**
   * The next task to dispatch — highest priority, then earliest submitted — among ready tasks
   * whose `needs` pass `canServe` (all when omitted). Promotes due retries first. Does not
   * remove the task: {@link assign} does, so a task is never in neither place.
   */
  peekReady(now: number, canServe?: NeedsFilter): TaskRecord | undefined {
    this.table.promoteDue(now);
    return this.table.peekReady(canServe);
  }

  /**
   * The ready tasks, best first (priority, then submission order), whose `needs` pass
   * `canServe` (all when omitted). Promotes due retries first (eagerly, at the call), then
   * reads lazily: a caller that stops after k tasks pays O(k log k). Assigning (or otherwise
   * removing) tasks while iterating is safe; tasks that become ready meanwhile may be missed,
   * so iterate again after changes.
   */
  readyTasks(now: number, canServe?: NeedsFilter): IterableIterator<TaskRecord> {
    this.table.promoteDue(now);
    return this.table.readyRecords(canServe);
  }

  /**
   * Claims a ready task for `workerId` under `lease` (ready → assigned) and returns the new
   * attempt's number (`attempts.length` after the push). Null, changing nothing, when the task
   * is not ready (already claimed, backing off, finished). Throws `TASK_NOT_FOUND` for an
   * unknown id.
   */
  assign(id: string, workerId: string, lease: string, now: number): number | null {
    const record = this.table.require(id);
    if (record.status !== 'ready') return null;
    return openAttempt(this.table, record, { workerId, lease, now });
  }

  /**
   * Claims for a worker of `nodeId` the best ready task (as {@link peekReady}) whose `needs`
   * are within `capabilities`, or exactly `taskId` if it is ready and servable: ready →
   * assigned under `lease`, expiring at `expiresAt`, with the node on the attempt. Promotes
   * due retries first. Returns the record (the new attempt is its last), or undefined,
   * changing nothing, when there is none (an unknown `taskId` included).
   */
  claim(request: QueueClaim): TaskRecord | undefined {
    this.table.promoteDue(request.now);
    const canServe = canServeWith(request.capabilities);
    const record =
      request.taskId === undefined ? this.table.peekReady(canServe) : this.table.records.get(request.taskId);
    if (record?.status !== 'ready' || !canServe(record.spec.needs)) return undefined;
    const { nodeId, workerId, lease, now, expiresAt } = request;
    openAttempt(this.table, record, { nodeId, workerId, lease, now, expiresAt });
    return record;
  }

  /**
   * Moves the expiry of every in-flight task holding one of `leases` to `expiresAt` (a
   * heartbeat). A lease past its expiry but not reaped yet is still current and is extended.
   * Returns the ids extended.
   */
  extendLeases(leases: readonly string[], expiresAt: number): string[] {
    return extendLeases(this.table, leases, expiresAt);
  }

  /**
   * Fails every in-flight task whose lease expired at or before `now` with `LEASE_EXPIRED`
   * (retryable: it counts as an attempt, then retries after backoff, or goes dead when the
   * budget is spent), earliest expiry first.
   */
  reapExpired(now: number): ReapedAttempt[] {
    return expiredRecords(this.table, now).map((record) => {
      const { lease, node, worker } = record;
      const failure = leaseExpiredFailure({ node, worker, leaseExpiresAt: record.leaseExpiresAt as number }, now);
      const outcome = this.fail(record.spec.id, lease as string, failure) as FailOutcome;
      return { taskId: record.spec.id, lease: lease as string, nodeId: node, workerId: worker, outcome };
    });
  }

  /**
   * Takes back every in-flight task claimed by `nodeId` (a supervisor restarting after a
   * crash), in submission order, each as a crash-release (reason `supervisor restarted`): no
   * attempt burnt, the start kept in `released`. A task whose crash-releases reach
   * `maxReleases` is dead with `TASK_KILLS_SUPERVISOR` instead of ready, its dependents blocked.
   */
  releaseNode(nodeId: string, now: number): NodeRelease[] {
    const held = inFlightRecords(this.table).filter((record) => record.node === nodeId);
    return held.map((record) => crashRelease(this.table, record, now, this.maxReleases));
  }

  /**
   * dead → ready with a fresh attempt budget (see `TaskRecord.attemptBase`; the history stays),
   * and every task blocked (`DEP_DEAD`) through it whose dependencies can all complete again
   * back to pending/ready. Returns the ids changed, this task first; empty, changing nothing,
   * when the task is not dead. Throws `TASK_NOT_FOUND` for an unknown id.
   */
  redrive(id: string): string[] {
    const record = this.table.require(id);
    return record.status === 'dead' ? redriveTask(this.table, record) : [];
  }

  /** assigned → running (the worker started it). False, changing nothing, on a stale lease or a repeat. */
  markRunning(id: string, lease: string, now: number): boolean {
    const record = this.table.fenced(id, lease);
    return record !== undefined && startAttempt(this.table, record, now);
  }

  /** assigned/running → complete; dependents whose last unmet dependency this was become ready. Fenced. */
  complete(id: string, lease: string, outcome: Completion): boolean {
    const record = this.table.fenced(id, lease);
    if (record === undefined) return false;
    completeAttempt(this.table, record, outcome);
    return true;
  }

  /**
   * Records a failed attempt. While the failure is retryable and attempts remain (spec
   * `maxAttempts`, else the queue default), the task waits out its backoff as `failed` (or goes
   * straight to `ready` when the delay is 0); otherwise it goes `dead` and every transitive
   * dependent not yet terminal goes `blocked` with `DEP_DEAD`. Fenced: null, changing
   * nothing, on a stale lease.
   */
  fail(id: string, lease: string, failure: Failure): FailOutcome | null {
    const record = this.table.fenced(id, lease);
    if (record === undefined) return null;
    return failAttempt(this.table, record, failure, this.retryDecision(record, failure));
  }

  /**
   * ready/assigned → blocked with `error` (e.g. `DEP_CONFLICT` when the dependencies'
   * branches conflict), dependents with it (`DEP_DEAD`); an assigned task's lease is revoked.
   * Returns the ids blocked, this task first; empty, changing nothing, in any other status.
   * Throws `TASK_NOT_FOUND` for an unknown id.
   */
  block(id: string, error: TaskError, now?: number): string[] {
    const record = this.table.require(id);
    if (record.status !== 'ready' && record.status !== 'assigned') return [];
    endTask(this.table, record, 'blocked', error, now);
    return [id, ...blockDependents(this.table, record.dependents, record, now)];
  }

  /**
   * assigned/running → ready without using up an attempt (drain; a worker taken away). The
   * open attempt moves to `released` with `reason` (and `releases` is counted), so `attempts`
   * holds only attempts that count and the next run gets the same attempt number the
   * released one had — the protocol's `attempt`, `COORD_ATTEMPT` and per-attempt log names
   * stay consistent. An orderly release does not count towards `maxReleases`. The task keeps
   * its place (priority, submission order) and is ready at once. Fenced.
   */
  release(id: string, lease: string, now: number, reason: string): boolean {
    const record = this.table.fenced(id, lease);
    if (record === undefined) return false;
    releaseAttempt(this.table, record, { now, reason, crash: false });
    return true;
  }

  /**
   * Any non-terminal status → cancelled (`TASK_CANCELLED`), dependents blocked (`DEP_DEAD`).
   * An in-flight task's lease is revoked; stopping its process is the supervisor's job.
   * Returns the ids that changed, this task first; empty when it was already terminal.
   * Throws `TASK_NOT_FOUND` for an unknown id.
   */
  cancel(id: string, now?: number): string[] {
    const record = this.table.require(id);
    if (TERMINAL_STATUSES.has(record.status)) return [];
    endTask(this.table, record, 'cancelled', { code: 'TASK_CANCELLED', message: `task "${id}" was cancelled` }, now);
    return [id, ...blockDependents(this.table, record.dependents, record, now)];
  }

  /** The attempts counted since the last redrive decide; spec settings win over the queue's. */
  private retryDecision(record: MutableTaskRecord, failure: Failure): RetryDecision {
    return decideRetry({
      attemptsCounted: record.attempts.length - record.attemptBase,
      maxAttempts: record.spec.maxAttempts ?? this.defaultMaxAttempts,
      policy: record.spec.backoff ?? this.defaultBackoff,
      failure,
      random: this.random,
    });
  }
}
