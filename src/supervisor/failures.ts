/**
 * Applying an attempt's outcome to the store and to everything that watches outcomes: the
 * breakers (verdicts, released probes), the fallback chains (where a stalled task runs
 * next), the staleness clock, and the `coord:*` events.
 */
import { parseErrorCode } from '../errors.js';
import type { WorkerMessageOf } from '../protocol/messages.js';
import type { Reaped, TaskError } from '../store/task-store.js';
import { taskLogFile } from './assign-message.js';
import { emitIfSettled } from './counts-cache.js';
import type { Admission } from './breakers.js';
import type { DispatcherDeps } from './dispatcher.js';

/** A failed attempt as the dispatcher reports it (a worker's `coord:failed`, or a crash). */
export interface FailureReport {
  taskId: string;
  lease: string;
  attempt: number;
  code: string;
  message: string;
  retryable: boolean;
  exitCode: number | null;
  retryAfterMs: number | null;
}

/** A failure the supervisor itself found in an attempt (not one a worker reported). */
export function attemptFailure(
  task: { taskId: string; lease: string; attempt: number },
  code: string,
  message: string,
  retryable: boolean,
  exitCode: number | null = null,
): FailureReport {
  return { taskId: task.taskId, lease: task.lease, attempt: task.attempt, code, message, retryable, exitCode, retryAfterMs: null };
}

export class FailureRecorder {
  /** The breaker admissions (probes) each in-flight attempt holds, by lease. */
  private readonly admissions = new Map<string, Admission>();
  /** When each running task last showed a sign of life (start, output), for staleness. */
  private readonly lastActivity = new Map<string, number>();

  constructor(
    private readonly deps: DispatcherDeps,
    private readonly now: () => number,
  ) {}

  admitted(lease: string, admission: Admission): void {
    this.admissions.set(lease, admission);
  }

  activity(taskId: string, at: number): void {
    this.lastActivity.set(taskId, at);
  }

  async completed(workerId: string, message: WorkerMessageOf<'coord:complete'>): Promise<void> {
    const ok = await this.deps.store.complete(message.taskId, message.lease, {
      exitCode: message.exitCode, result: message.result, commit: message.commit, now: this.now(),
    });
    if (!ok) return this.stale(workerId, message.taskId, message.lease);
    this.settle(message.lease, { ok: true });
    this.deps.fallbacks.onSuccess(message.taskId);
    this.lastActivity.delete(message.taskId);
    this.deps.events.emit('coord:complete', {
      taskId: message.taskId, workerId, attempt: message.attempt, exitCode: message.exitCode, result: message.result, commit: message.commit,
    });
  }

  async failed(workerId: string, failure: FailureReport): Promise<void> {
    const { store, events } = this.deps;
    const { taskId, lease, attempt } = failure;
    const record = await store.get(taskId);
    if (!record || record.lease !== lease) return this.stale(workerId, taskId, lease);
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
    const outcome = await store.fail(taskId, lease, {
      code: parseErrorCode(failure.code, 'MODULE_FAILED'),
      message: exhausted ? `${failure.message} (fallback chain exhausted)` : failure.message,
      exitCode: failure.exitCode,
      retryable: failure.retryable && !exhausted,
      retryAfterMs: failure.retryAfterMs,
      now,
    });
    if (outcome === null) return this.stale(workerId, taskId, lease);
    this.settle(lease, { ok: false, code: failure.code, at: now });
    this.lastActivity.delete(taskId);
    const error = { code: failure.code, message: failure.message };
    events.emit('coord:failed', { taskId, workerId, attempt, error, willRetry: outcome.status !== 'dead' });
    if (outcome.status === 'dead') events.emit('coord:dead', { taskId, error });
    await this.emitBlocked(outcome.blocked);
  }

  /** Returns an in-flight task to `ready` without using an attempt; true if the lease was current. */
  async release(taskId: string, lease: string, reason: string): Promise<boolean> {
    const released = await this.deps.store.release(taskId, lease, this.now(), reason);
    const admission = this.admissions.get(lease);
    this.admissions.delete(lease);
    if (admission) this.deps.breakers.release(admission);
    if (released) this.deps.events.emit('coord:released', { taskId, reason });
    return released;
  }

  async block(taskId: string, error: TaskError): Promise<void> {
    await this.emitBlocked(await this.deps.store.block(taskId, error, this.now()));
    await emitIfSettled(this.deps.store, this.deps.events);
  }

  /** A lease another holder stopped renewing was reaped by this node. */
  reaped(reaped: Reaped): void {
    const error = { code: 'LEASE_EXPIRED', message: `lease held by ${reaped.nodeId}/${reaped.workerId} expired` };
    this.deps.events.emit('coord:failed', { taskId: reaped.taskId, workerId: reaped.workerId, attempt: 0, error, willRetry: reaped.outcome.status !== 'dead' });
    if (reaped.outcome.status === 'dead') this.deps.events.emit('coord:dead', { taskId: reaped.taskId, error });
    void this.emitBlocked(reaped.outcome.blocked);
  }

  private stale(workerId: string, taskId: string, lease: string): void {
    this.deps.logger.warn({ workerId, taskId, lease }, 'ignored a result whose lease is no longer current');
  }

  private settle(lease: string, outcome: { ok: true } | { ok: false; code: string; at: number }): void {
    const admission = this.admissions.get(lease);
    this.admissions.delete(lease);
    if (admission) this.deps.breakers.settle(admission, outcome);
  }

  private async emitBlocked(ids: readonly string[]): Promise<void> {
    for (const id of ids) {
      const error = (await this.deps.store.get(id))?.error;
      if (error) this.deps.events.emit('coord:blocked', { taskId: id, error });
    }
  }
}
