/**
 * The task queue: the lifecycle rules of task records (submit, dispatch, outcomes, retries,
 * blocking) over a {@link TaskTable}, which keeps the indexes in step. Synchronous and free
 * of I/O: time comes in as `now` (epoch ms) arguments, randomness through the constructor,
 * and nothing is emitted — the supervisor calls these methods and reads the records (and
 * {@link TaskQueue.takeChanged}) to persist and announce what happened.
 *
 * Cost: every operation is O(log n) for the task it touches plus O(1) per dependency edge it
 * follows; nothing rescans the graph.
 */
import { CoordError } from '../errors.js';
import type { TaskSpec } from '../tasks/spec.js';
import { validateGraph } from '../tasks/validate-graph.js';
import { blockDependents, endTask, unlockDependents, wireDependencies } from './dependents.js';
import type { Completion, FailOutcome, Failure } from './outcomes.js';
import type { NeedsFilter } from './ready-set.js';
import { DEFAULT_BACKOFF, retryDelayMs, type BackoffPolicy } from './retry-delay.js';
import { isSameSpec } from './same-spec.js';
import { TaskTable } from './task-table.js';
import {
  TASK_STATUSES,
  TERMINAL_STATUSES,
  currentAttempt,
  isLeaseCurrent,
  isoTime,
  type TaskError,
  type TaskRecord,
  type TaskStatus,
} from './task-record.js';

export { TASK_STATUSES, TERMINAL_STATUSES, isLeaseCurrent };
export type { AttemptRecord, TaskError, TaskRecord, TaskStatus } from './task-record.js';
export type { Completion, FailOutcome, Failure } from './outcomes.js';
export type { NeedsFilter } from './ready-set.js';

/** Queue-wide defaults for what a task spec leaves out. */
export interface TaskQueueOptions {
  /** Attempts for a task whose spec has no `maxAttempts` (default 1: no retries). */
  maxAttempts?: number;
  /** Backoff for a task whose spec has no `backoff` (default 1 s, ×2, at most 60 s). */
  backoff?: BackoffPolicy;
  /** Uniform in [0, 1); injected so tests can pin the retry jitter (default `Math.random`). */
  random?: () => number;
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
export class TaskQueue {
  private readonly table = new TaskTable();
  private readonly defaultMaxAttempts: number;
  private readonly defaultBackoff: BackoffPolicy;
  private readonly random: () => number;

  constructor(options: TaskQueueOptions = {}) {
    this.defaultMaxAttempts = options.maxAttempts ?? 1;
    this.defaultBackoff = options.backoff ?? DEFAULT_BACKOFF;
    this.random = options.random ?? Math.random;
  }

  /**
   * Adds `specs` (already parsed with `TaskSpecSchema`) all or nothing; returns the ids added.
   * Re-submitting a spec identical (canonical JSON) to a known task is a no-op; a different
   * spec under a known id throws `TASK_EXISTS`; graph errors throw as in `validateGraph`
   * (dependencies may name known tasks). A dependency already complete counts as met; one
   * already dead, blocked or cancelled blocks the new task at once.
   */
  submit(specs: readonly TaskSpec[]): string[] {
    const fresh: TaskSpec[] = [];
    for (const spec of specs) {
      const known = this.table.records.get(spec.id);
      if (known === undefined) fresh.push(spec);
      else if (!isSameSpec(known.spec, spec)) {
        throw new CoordError('TASK_EXISTS', `task "${spec.id}" already exists with a different spec`, {
          details: { taskId: spec.id },
        });
      }
    }
    validateGraph(fresh, this.table.records);

    // The submission is valid: from here on nothing throws, so mutating is safe.
    const added = fresh.map((spec) => this.table.insert(spec));
    const deadEnds = added.map((record) => wireDependencies(this.table, record));
    added.forEach((record, i) => {
      if (record.status !== 'pending') return; // already blocked through an earlier task of this batch
      const deadEnd = deadEnds[i];
      if (deadEnd !== undefined) blockDependents(this.table, [record.spec.id], deadEnd, undefined);
      else if (record.unmetDeps === 0) this.table.setStatus(record, 'ready');
    });
    return added.map((record) => record.spec.id);
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

  /** Milliseconds until the next retry is due (0 if one is), or null when none waits: the dispatcher's timer. */
  nextDelayMs(now: number): number | null {
    return this.table.nextDelayMs(now);
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
    const attempt = record.attempts.length + 1;
    record.attempts.push({
      attempt,
      worker: workerId,
      lease,
      assignedAt: isoTime(now),
      startedAt: null,
      finishedAt: null,
      exitCode: null,
      code: null,
      message: null,
    });
    record.lease = lease;
    record.worker = workerId;
    this.table.setStatus(record, 'assigned');
    return attempt;
  }

  /** assigned → running (the worker started it). False, changing nothing, on a stale lease or a repeat. */
  markRunning(id: string, lease: string, now: number): boolean {
    const record = this.table.fenced(id, lease);
    if (record?.status !== 'assigned') return false;
    const at = isoTime(now);
    currentAttempt(record).startedAt = at;
    record.startedAt ??= at;
    this.table.setStatus(record, 'running');
    return true;
  }

  /** assigned/running → complete; dependents whose last unmet dependency this was become ready. Fenced. */
  complete(id: string, lease: string, outcome: Completion): boolean {
    const record = this.table.fenced(id, lease);
    if (record === undefined) return false;
    const at = isoTime(outcome.now);
    const attempt = currentAttempt(record);
    attempt.finishedAt = at;
    attempt.exitCode = outcome.exitCode;
    record.lease = null;
    record.finishedAt = at;
    record.exitCode = outcome.exitCode;
    record.result = outcome.result;
    record.commit = outcome.commit;
    record.error = null;
    this.table.setStatus(record, 'complete');
    unlockDependents(this.table, record);
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
    const { code, message } = failure;
    const attempt = currentAttempt(record);
    attempt.finishedAt = isoTime(failure.now);
    attempt.exitCode = failure.exitCode;
    attempt.code = code;
    attempt.message = message;
    record.lease = null;
    record.exitCode = failure.exitCode;
    record.error = failure.details === undefined ? { code, message } : { code, message, details: failure.details };

    const maxAttempts = record.spec.maxAttempts ?? this.defaultMaxAttempts;
    if (failure.retryable && record.attempts.length < maxAttempts) {
      const policy = record.spec.backoff ?? this.defaultBackoff;
      const delay = retryDelayMs(record.attempts.length, policy, this.random, failure.retryAfterMs ?? 0);
      const status = delay > 0 ? 'failed' : 'ready';
      record.worker = null;
      record.readyAt = failure.now + delay;
      this.table.setStatus(record, status);
      return { status, retryAt: record.readyAt, blocked: [] };
    }
    record.finishedAt = isoTime(failure.now);
    this.table.setStatus(record, 'dead');
    return { status: 'dead', retryAt: null, blocked: blockDependents(this.table, record.dependents, record, failure.now) };
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
   * open attempt record is removed (and `releases` counted), so `attempts` holds only attempts
   * that count and the next run gets the same attempt number the released one had — the
   * protocol's `attempt`, `COORD_ATTEMPT` and per-attempt log names stay consistent. The
   * task keeps its place (priority, submission order) and is ready at once. Fenced.
   */
  release(id: string, lease: string): boolean {
    const record = this.table.fenced(id, lease);
    if (record === undefined) return false;
    record.attempts.pop();
    record.releases += 1;
    record.startedAt = record.attempts[0]?.startedAt ?? null; // the first counted run's start
    record.lease = null;
    record.worker = null;
    record.readyAt = 0;
    this.table.setStatus(record, 'ready');
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

  /** The record for `id`, if any: a live view, read it now rather than keep it. */
  get(id: string): TaskRecord | undefined {
    return this.table.records.get(id);
  }

  /** True when a task `id` exists (so the queue can serve as `validateGraph`'s `existing`). */
  has(id: string): boolean {
    return this.table.records.has(id);
  }

  /** Every record, in submission order. O(n). */
  all(): TaskRecord[] {
    return [...this.table.records.values()];
  }

  /** Number of tasks. */
  get size(): number {
    return this.table.records.size;
  }

  /** Tasks per status, maintained on every transition. O(1). */
  counts(): Readonly<Record<TaskStatus, number>> {
    return this.table.counts();
  }

  /** True when no task is pending, ready, in flight or waiting for a retry. */
  isSettled(): boolean {
    return this.table.isSettled();
  }

  /** Ids of assigned and running tasks. O(in flight). */
  inFlight(): string[] {
    return this.table.inFlight();
  }

  /** Ids of records changed since the last call, in order of first change (for incremental persistence). */
  takeChanged(): string[] {
    return this.table.takeChanged();
  }
}
