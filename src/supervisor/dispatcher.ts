/**
 * Dispatch: matches ready tasks to idle workers, prepares each task's start commit, hands
 * the task to its worker, and applies results to the queue. It is the only writer of task
 * state while the supervisor runs, so every queue mutation and every event comes from here.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { ParentMessageOf, WorkerMessageOf } from '../protocol/messages.js';
import type { AssignStrategy, WorkerSlot } from '../pool/assign.js';
import type { TaskQueue, TaskRecord } from '../queue/task-queue.js';
import type { Logger } from '../log/logger.js';
import { toCoordError } from '../errors.js';
import type { StartCommit, DependencyTip } from '../worktrees/start-commit.js';
import type { SupervisorEventBus } from './events.js';
import type { Admission, BreakerBoard } from './breakers.js';
import type { FallbackBoard } from './fallbacks.js';

/** What the dispatcher needs from the rest of the supervisor. */
export interface DispatcherDeps {
  queue: TaskQueue;
  strategy: AssignStrategy;
  events: SupervisorEventBus;
  logger: Logger;
  taskLogDir: string;
  defaultTimeoutMs: number | null;
  /** Worker slots as they are now (idle = the worker machine is in `idle`). */
  slots(): WorkerSlot[];
  /** Whether new assignments are allowed (the coordinator is `running`). */
  accepting(): boolean;
  startCommit(taskId: string, deps: DependencyTip[]): Promise<StartCommit>;
  /** Hands an assign message to the worker's machine; false if the worker cannot take it now. */
  assign(workerId: string, message: ParentMessageOf<'coord:assign'>): boolean;
  /** Asks the worker running `taskId` to cancel it. */
  cancel(workerId: string, taskId: string, reason: string): void;
  breakers: BreakerBoard;
  fallbacks: FallbackBoard;
  /** Whether the worker restarts in a loop (for the fallback chain's shortcut). */
  crashLooping(workerId: string): boolean;
  /** Whether the worker is gone for good (failed or exited). */
  workerGone(workerId: string): boolean;
  now?: () => number;
}

/** The per-task, per-attempt output log. */
export function taskLogFile(taskLogDir: string, taskId: string, attempt: number): string {
  return path.join(taskLogDir, taskId, `attempt-${attempt}.log`);
}

export class Dispatcher {
  /** Workers chosen for a task whose start commit is still being computed. */
  private readonly reserved = new Set<string>();
  /** The breaker admissions (probes) each in-flight attempt holds, by lease. */
  private readonly admissions = new Map<string, Admission>();
  /** When each running task last showed a sign of life (start, output), for staleness. */
  private readonly lastActivity = new Map<string, number>();
  private scheduled = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(private readonly deps: DispatcherDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** Runs a dispatch pass soon (coalescing many requests into one pass). */
  schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.dispatch();
    });
  }

  /** Tasks reserved or held by a worker right now. */
  inFlightCount(): number {
    return this.deps.queue.inFlight().length;
  }

  stop(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private dispatch(): void {
    const { queue, strategy, breakers } = this.deps;
    if (!this.deps.accepting()) return;
    const now = this.now();
    let slots = this.deps.slots().filter((slot) => slot.idle && !this.reserved.has(slot.workerId) && breakers.workerOpen(slot.workerId));
    for (const task of queue.readyTasks(now)) {
      if (slots.length === 0) break;
      const slot = strategy(task, this.placeable(task, slots));
      if (!slot) continue;
      const lease = randomBytes(9).toString('base64url');
      const admission = breakers.admit(task.spec, slot.workerId, lease);
      if (!admission) continue; // an open breaker on this worker or command: the task waits
      slots = slots.filter((s) => s.workerId !== slot.workerId);
      this.begin(task, slot.workerId, lease, admission, now);
    }
    this.armRetryTimer(now);
  }

  /** The slots a task may go to under its fallback placement (same worker, or any other). */
  private placeable(task: TaskRecord, slots: WorkerSlot[]): WorkerSlot[] {
    const placement = this.deps.fallbacks.placement(task.spec.id);
    if (!placement) return slots;
    if (placement.only !== null) {
      if (!this.deps.workerGone(placement.only)) return slots.filter((s) => s.workerId === placement.only);
      this.deps.fallbacks.dropAffinity(task.spec.id);
    }
    const others = slots.filter((s) => s.workerId !== placement.avoid);
    // With a single worker, "elsewhere" can only be that worker's next process.
    return others.length > 0 || this.deps.slots().length > 1 ? others : slots;
  }

  /** Wakes the dispatcher when the earliest task waiting out a retry backoff is due. */
  private armRetryTimer(now: number): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const delay = this.deps.queue.nextDelayMs(now);
    this.retryTimer = delay === null ? undefined : setTimeout(() => this.schedule(), delay);
    this.retryTimer?.unref();
  }

  private begin(task: TaskRecord, workerId: string, lease: string, admission: Admission, now: number): void {
    const { queue, events } = this.deps;
    const attempt = queue.assign(task.spec.id, workerId, lease, now);
    if (attempt === null) {
      this.deps.breakers.release(admission);
      return;
    }
    this.admissions.set(lease, admission);
    this.reserved.add(workerId);
    events.emit('coord:assigned', { taskId: task.spec.id, workerId, attempt });
    void this.handOver(task, workerId, lease, attempt).finally(() => {
      this.reserved.delete(workerId);
      this.schedule();
    });
  }

  /** Computes the start commit (async git), then gives the task to the worker. */
  private async handOver(task: TaskRecord, workerId: string, lease: string, attempt: number): Promise<void> {
    const { queue, logger } = this.deps;
    const id = task.spec.id;
    let start: StartCommit;
    try {
      const tips = task.spec.deps.map((dep) => ({ taskId: dep, commit: queue.get(dep)?.commit ?? '' }));
      start = await this.deps.startCommit(id, tips);
    } catch (error) {
      const err = toCoordError(error, 'GIT_FAILED');
      logger.error({ taskId: id, err }, 'could not prepare the start commit');
      this.applyFailure(workerId, id, lease, attempt, { code: err.code, message: err.message, retryable: false, exitCode: null, retryAfterMs: null });
      return;
    }
    if (!start.ok) {
      const { between, files } = start.conflict;
      this.blockTask(id, {
        code: 'DEP_CONFLICT',
        message: `dependencies ${between[0]} and ${between[1]} conflict in ${files.join(', ')}`,
        details: { between, files },
      });
      return;
    }
    const timeoutMs = task.spec.timeoutMs ?? this.deps.defaultTimeoutMs;
    const message: ParentMessageOf<'coord:assign'> = {
      type: 'coord:assign',
      taskId: id,
      attempt,
      lease,
      exec:
        task.spec.run !== undefined
          ? { kind: 'run', argv: task.spec.run, env: { ...task.spec.env, ...this.deps.fallbacks.placement(id)?.env } }
          : { kind: 'module', module: task.spec.module ?? '', export: task.spec.export ?? 'default', input: task.spec.input ?? null },
      branch: task.branch,
      startCommit: start.commit,
      timeoutMs,
      logFile: taskLogFile(this.deps.taskLogDir, id, attempt),
    };
    // The worker may have died while git was working: then the task goes back, unburnt.
    if (!this.deps.accepting() || !this.deps.assign(workerId, message)) {
      if (queue.release(id, lease)) {
        this.releaseAdmission(lease);
        this.deps.events.emit('coord:released', { taskId: id, reason: 'worker unavailable' });
      }
    }
  }

  /** A worker said it started the task. */
  started(workerId: string, message: WorkerMessageOf<'coord:started'>): void {
    this.lastActivity.set(message.taskId, this.now());
    if (this.deps.queue.markRunning(message.taskId, message.lease, this.now())) {
      this.deps.events.emit('coord:started', { taskId: message.taskId, workerId, attempt: message.attempt });
    }
  }

  /** A worker reported output from a running task: a sign of life for staleness. */
  progress(taskId: string): void {
    this.lastActivity.set(taskId, this.now());
  }

  /** A result with the worker's current lease (the queue fences it again). */
  result(workerId: string, message: WorkerMessageOf<'coord:complete'> | WorkerMessageOf<'coord:failed'>): void {
    const { queue, events } = this.deps;
    if (message.type === 'coord:complete') {
      const ok = queue.complete(message.taskId, message.lease, {
        exitCode: message.exitCode,
        result: message.result,
        commit: message.commit,
        now: this.now(),
      });
      if (ok) {
        this.settleAdmission(message.lease, { ok: true });
        this.deps.fallbacks.onSuccess(message.taskId);
        this.lastActivity.delete(message.taskId);
        events.emit('coord:complete', {
          taskId: message.taskId, workerId, attempt: message.attempt,
          exitCode: message.exitCode, result: message.result, commit: message.commit,
        });
      }
    } else {
      this.applyFailure(workerId, message.taskId, message.lease, message.attempt, message);
    }
    this.afterChange();
  }

  /** The worker holding a task died (or was killed as hung): the attempt failed, retryably. */
  lost(workerId: string, task: { taskId: string; lease: string; attempt: number }, exit: { code: number | null; signal: string | null; hung: boolean }): void {
    const how = `code ${exit.code ?? 'none'}, signal ${exit.signal ?? 'none'}`;
    this.applyFailure(workerId, task.taskId, task.lease, task.attempt, {
      code: exit.hung ? 'WORKER_HUNG' : 'WORKER_CRASHED',
      message: exit.hung
        ? `worker ${workerId} stopped heartbeating while running the task and was killed`
        : `worker ${workerId} exited (${how}) while running the task`,
      retryable: true,
      exitCode: null,
      retryAfterMs: null,
    });
    this.afterChange();
  }

  /** Cancels every in-flight task and returns it to `ready` without burning an attempt. */
  cancelInFlight(reason: string): void {
    const { queue, events } = this.deps;
    for (const id of queue.inFlight()) {
      const record = queue.get(id);
      if (!record?.lease || !record.worker) continue;
      const worker = record.worker;
      const lease = record.lease;
      if (queue.release(id, lease)) {
        this.releaseAdmission(lease);
        this.deps.cancel(worker, id, reason);
        events.emit('coord:released', { taskId: id, reason });
      }
    }
  }

  private applyFailure(
    workerId: string,
    taskId: string,
    lease: string,
    attempt: number,
    failure: { code: string; message: string; retryable: boolean; exitCode: number | null; retryAfterMs: number | null },
  ): void {
    const { queue, events } = this.deps;
    const record = queue.get(taskId);
    if (!record || record.lease !== lease) return; // stale: a newer attempt owns the task
    const now = this.now();
    const stage = this.deps.fallbacks.onFailure({
      task: record,
      workerId,
      code: failure.code,
      at: now,
      sessionIdleMs: now - (this.lastActivity.get(taskId) ?? now),
      workerCrashLooping: this.deps.crashLooping(workerId),
      previousLog: taskLogFile(this.deps.taskLogDir, taskId, attempt),
    });
    const exhausted = stage === 'exhausted';
    const outcome = queue.fail(taskId, lease, {
      ...failure,
      retryable: failure.retryable && !exhausted,
      message: exhausted ? `${failure.message} (fallback chain exhausted)` : failure.message,
      now,
    });
    if (outcome === null) return;
    this.settleAdmission(lease, { ok: false, code: failure.code, at: now });
    this.lastActivity.delete(taskId);
    const error = { code: failure.code, message: failure.message };
    events.emit('coord:failed', { taskId, workerId, attempt, error, willRetry: outcome.status !== 'dead' });
    if (outcome.status === 'dead') events.emit('coord:dead', { taskId, error });
    for (const blocked of outcome.blocked) this.emitBlocked(blocked);
  }

  private settleAdmission(lease: string, outcome: { ok: true } | { ok: false; code: string; at: number }): void {
    const admission = this.admissions.get(lease);
    this.admissions.delete(lease);
    if (admission) this.deps.breakers.settle(admission, outcome);
  }

  private releaseAdmission(lease: string): void {
    const admission = this.admissions.get(lease);
    this.admissions.delete(lease);
    if (admission) this.deps.breakers.release(admission);
  }

  private blockTask(taskId: string, error: { code: string; message: string; details?: Record<string, unknown> }): void {
    for (const id of this.deps.queue.block(taskId, error)) this.emitBlocked(id);
    this.afterChange();
  }

  private emitBlocked(taskId: string): void {
    const error = this.deps.queue.get(taskId)?.error;
    if (error) this.deps.events.emit('coord:blocked', { taskId, error });
  }

  private afterChange(): void {
    if (this.deps.queue.isSettled()) this.deps.events.emit('coord:settled', { counts: this.deps.queue.counts() });
    this.schedule();
  }
}
