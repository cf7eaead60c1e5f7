/**
 * The outcome path: every change to a task's state this supervisor makes, but the claim
 * itself (dispatch's), goes through here — what a worker reports about a task (started, progress, usage, complete, failed), what
 * the supervisor itself finds (a lost or hung worker, a start commit it could not prepare, a
 * failed push), releases and blocks, expired leases it reaped, submissions, redrives and the
 * recovery at start — and every `coord:*` task event is emitted here, after the store
 * accepted the change. Each change also answers the attempt's breaker admission (by lease),
 * feeds the fallback chains, and ends with `changed()` (dispatch again, check for settled).
 *
 * Call it outside actor transitions: it sends to breakers and fallback chains.
 */
import { policyOf, type CoordErrorCode } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import type { WorkerMessageOf } from '../../protocol/messages.js';
import type { Reaped, TaskError, TaskRecord, TaskStore } from '../../store/task-store.js';
import { rateKeyOf } from '../../coordination/rate-key.js';
import type { TaskSpec } from '../../tasks/spec.js';
import type { BreakerBoard } from '../breakers.js';
import type { SupervisorEventBus } from '../events.js';
import type { FallbackBoard } from '../fallbacks.js';
import type { WorkerPool } from '../worker-pool.js';
import { taskLogFile } from '../dispatch/assign-message.js';
import { supervisorFailure, workerFailure, type AttemptRef, type FailureReport } from './failure-report.js';
import { recoverNode } from './recovery.js';
import { UsageLedger } from './usage.js';
import { storedAgentReport } from './agent-report.js';
import type { AgentProfileConfig } from '../../agents/profiles.js';
import type { Liveness } from '../../agents/liveness.js';
import type { Turns } from '../mailbox/turns.js';

/** What a worker says about a task it holds; all of it arrives here. */
export type TaskReport =
  | WorkerMessageOf<'coord:started'>
  | WorkerMessageOf<'coord:progress'>
  | WorkerMessageOf<'coord:quiet'>
  | WorkerMessageOf<'coord:liveness'>
  | WorkerMessageOf<'coord:usage'>
  | WorkerMessageOf<'coord:complete'>
  | WorkerMessageOf<'coord:failed'>;

/** The shared remote completed work is pushed to (several hosts), if any. */
export interface Publisher {
  readonly publishing: boolean;
  /** Pushes the commit under its own immutable name (before the completion is recorded). */
  share(commit: string): Promise<void>;
  /** Moves the task's branch on the remote (after the completion is recorded). */
  advertise(branch: string, commit: string): Promise<void>;
}

export interface OutcomeDeps {
  store: TaskStore;
  events: SupervisorEventBus;
  logger: Logger;
  breakers: Pick<BreakerBoard, 'settle' | 'release'>;
  fallbacks: Pick<FallbackBoard, 'onFailure' | 'onSuccess'>;
  workers: Pick<WorkerPool, 'crashLooping' | 'retire' | 'cancel'>;
  publisher: Publisher;
  nodeId: string;
  taskLogDir: string;
  /** Agent profiles from the config (for prices). */
  agents: Readonly<Record<string, AgentProfileConfig>>;
  /** How long a rate-limited task waits when its agent did not say. */
  rateLimitDefaultWaitMs: number;
  /** After every change: there may be work to dispatch, or the run may be settled. */
  changed(): Promise<void>;
  now(): number;
  /** The mailbox's side of agent runs: loop safeguards, and runs that deliver messages (src/supervisor/mailbox/turns.ts). */
  turns?: Pick<Turns, 'judge' | 'completed' | 'route' | 'failed'>;
}

export class Outcomes {
  /** When each running task last showed a sign of life (start, output), for staleness. */
  private readonly lastActivity = new Map<string, number>();
  /** Each running agent task's liveness, as its worker judged it last. */
  readonly liveness = new Map<string, Liveness>();
  readonly usage = new UsageLedger();

  constructor(private readonly deps: OutcomeDeps) {}

  /** A worker's report about a task (its lease is checked against the store's). */
  async report(workerId: string, message: TaskReport): Promise<void> {
    switch (message.type) {
      case 'coord:started':
        return this.started(workerId, message);
      case 'coord:progress':
        this.lastActivity.set(message.taskId, this.deps.now());
        this.deps.logger.debug({ workerId, taskId: message.taskId, outputBytes: message.outputBytes }, 'task progress');
        return;
      case 'coord:usage': {
        const record = await this.deps.store.get(message.taskId);
        if (record?.lease !== message.lease) return;
        this.usage.add(message, workerId);
        this.deps.events.emit('coord:usage', {
          taskId: message.taskId, workerId, inputTokens: message.inputTokens, outputTokens: message.outputTokens,
          cacheReadTokens: message.cacheReadTokens ?? 0, cacheWriteTokens: message.cacheWriteTokens ?? 0, costUsd: message.costUsd, sessionId: message.sessionId ?? null,
          model: message.model ?? null, agent: record.spec.agent ?? null,
        });
        return;
      }
      case 'coord:liveness':
        if ((await this.deps.store.get(message.taskId))?.lease !== message.lease) return;
        this.liveness.set(message.taskId, message.state);
        this.deps.logger[message.state === 'stalled' ? 'warn' : 'info']({ workerId, taskId: message.taskId, liveness: message.state }, `agent ${message.state}`);
        this.deps.events.emit('coord:liveness', { taskId: message.taskId, workerId, state: message.state });
        return;
      case 'coord:quiet':
        if ((await this.deps.store.get(message.taskId))?.lease !== message.lease) return;
        this.deps.logger.warn({ workerId, taskId: message.taskId, quietMs: message.quietMs, lastLine: message.lastLine }, 'task silent: waiting for input?');
        this.deps.events.emit('coord:waiting', { taskId: message.taskId, workerId, quietMs: message.quietMs, lastLine: message.lastLine });
        return;
      case 'coord:complete':
        await this.completed(workerId, message);
        return this.deps.changed();
      case 'coord:failed':
        if (policyOf(message.code).chargedTo === 'workspace') await this.workspaceFailed(workerId, message);
        else await this.failed(workerId, workerFailure(message));
        return this.deps.changed();
    }
  }

  /** The worker holding a task died, or was killed as hung: the attempt failed. */
  async lost(workerId: string, task: AttemptRef, exit: { code: number | null; signal: string | null; hung: boolean }): Promise<void> {
    const report = exit.hung
      ? supervisorFailure(task, 'WORKER_HUNG', `worker ${workerId} stopped heartbeating while running the task and was killed`)
      : supervisorFailure(task, 'WORKER_CRASHED', `worker ${workerId} exited (code ${exit.code ?? 'none'}, signal ${exit.signal ?? 'none'}) while running the task`);
    await this.failed(workerId, report);
    await this.deps.changed();
  }

  /** The supervisor found the attempt failed before or after the worker ran it. */
  async attemptFailed(workerId: string, attempt: AttemptRef, code: CoordErrorCode, message: string): Promise<void> {
    await this.failed(workerId, supervisorFailure(attempt, code, message));
    await this.deps.changed();
  }

  /** Returns an in-flight task to `ready` without using an attempt; true if the lease was current. */
  async release(taskId: string, lease: string, reason: string): Promise<boolean> {
    const released = await this.deps.store.release(taskId, lease, this.deps.now(), reason);
    this.deps.breakers.release(lease);
    this.attemptOver(taskId);
    if (released) this.deps.events.emit('coord:released', { taskId, reason });
    await this.deps.changed();
    return released;
  }

  /** Releases every task this node has in flight and asks its worker to cancel it. */
  async cancelInFlight(reason: string): Promise<void> {
    for (const held of await this.deps.store.inFlight(this.deps.nodeId)) {
      if (await this.release(held.taskId, held.lease, reason)) this.deps.workers.cancel(held.workerId, held.taskId, reason);
    }
  }

  /** Blocks a task that cannot start (its dependencies conflict), and its dependents. */
  async block(taskId: string, error: TaskError): Promise<void> {
    await this.emitBlocked(await this.deps.store.block(taskId, error, this.deps.now()));
    await this.deps.changed();
  }

  /** Leases another holder stopped renewing, reaped by this node: failed attempts. */
  async reaped(reaped: readonly Reaped[]): Promise<void> {
    for (const r of reaped) {
      const error = { code: 'LEASE_EXPIRED' as const, message: `lease held by ${r.nodeId}/${r.workerId} expired` };
      this.deps.events.emit('coord:failed', {
        taskId: r.taskId, workerId: r.workerId, attempt: 0, error, willRetry: r.outcome.status !== 'dead', output: [], logFile: null,
      });
      if (r.outcome.status === 'dead') this.deps.events.emit('coord:dead', { taskId: r.taskId, error });
      await this.emitBlocked(r.outcome.blocked);
    }
    await this.deps.changed();
  }

  /** Stores a checked submission; tasks blocked at once (a dependency already dead) are announced. */
  async submit(specs: readonly TaskSpec[]): Promise<string[]> {
    const added = await this.deps.store.submit(specs, this.deps.now());
    if (added.length > 0) this.deps.events.emit('coord:submitted', { taskIds: added });
    await this.emitBlocked(added);
    await this.deps.changed();
    return added;
  }

  /**
   * Takes back what this node held in flight when it last stopped (a crash, kill -9): each
   * task released to run again, or dead once it was running at `maxReleases` crashes.
   */
  async recover(): Promise<string[]> {
    const taken = await recoverNode(this.deps.store, this.deps.nodeId, this.deps.now(), this.deps.events, this.deps.logger);
    await this.deps.changed();
    return taken;
  }

  /** Puts a dead task back to ready (and its blocked dependents back in play); resolves with the ids changed. */
  /**
   * Cancels a task that is not terminal (its dependents are blocked); a running attempt of it on
   * this node is cancelled on its worker. Resolves with the tasks changed (none: it was terminal).
   */
  async cancel(taskId: string): Promise<string[]> {
    const held = (await this.deps.store.inFlight(this.deps.nodeId)).find((h) => h.taskId === taskId);
    const changed = await this.deps.store.cancel(taskId, this.deps.now());
    if (changed.length > 0) {
      this.attemptOver(taskId);
      if (held) {
        this.deps.breakers.release(held.lease);
        this.deps.workers.cancel(held.workerId, taskId, 'cancelled');
      }
      this.deps.logger.info({ taskId, changed, wasRunningOn: held?.workerId ?? null }, 'cancelled a task');
      this.deps.events.emit('coord:cancelled', { taskId, changed });
    }
    await this.deps.changed();
    return changed;
  }

  async redrive(taskId: string): Promise<string[]> {
    const changed = await this.deps.store.redrive(taskId, this.deps.now());
    if (changed.length > 0) this.deps.events.emit('coord:redriven', { taskId, changed });
    await this.deps.changed();
    return changed;
  }

  private async started(workerId: string, message: WorkerMessageOf<'coord:started'>): Promise<void> {
    const now = this.deps.now();
    this.lastActivity.set(message.taskId, now);
    if (await this.deps.store.markRunning(message.taskId, message.lease, now)) {
      this.deps.events.emit('coord:started', { taskId: message.taskId, workerId, attempt: message.attempt });
    }
  }

  /**
   * With several hosts, the work is pushed before the completion is recorded, so any host
   * that sees the task complete can fetch it: under the commit's own immutable name, so a
   * late push of a stale attempt cannot replace it. A push that fails fails the attempt
   * (retryably): a completion whose work no other host can reach would block its
   * dependents. The branch itself moves on the remote only once the completion is recorded.
   */
  private async completed(workerId: string, message: WorkerMessageOf<'coord:complete'>): Promise<void> {
    const { store, publisher } = this.deps;
    const shared = publisher.publishing && message.commit !== null;
    if (shared && message.commit !== null) {
      if ((await store.get(message.taskId))?.lease !== message.lease) return this.stale(workerId, message);
      try {
        await publisher.share(message.commit);
      } catch (error) {
        this.deps.logger.error({ taskId: message.taskId, err: error }, 'could not push the task branch');
        const reason = error instanceof Error ? error.message : String(error);
        return this.failed(workerId, supervisorFailure(message, 'GIT_PUSH_FAILED', reason, message.exitCode));
      }
    }
    const record = message.agent === undefined ? undefined : await store.get(message.taskId);
    const agent = message.agent === undefined ? { session: null, usage: null } : storedAgentReport(record?.spec, message.agent, this.deps.agents);
    // A turn of an agent: the loop safeguards may stop the task here (its work is kept).
    const turn = record?.lease === message.lease && this.deps.turns ? await this.deps.turns.judge(record, { commit: message.commit, result: message.result }) : null;
    const ok = await store.complete(message.taskId, message.lease, {
      exitCode: message.exitCode, result: message.result, commit: message.commit, now: this.deps.now(), ...agent, hold: turn?.hold ?? undefined,
    });
    this.usage.attemptEnded(message.taskId);
    if (!ok) return this.stale(workerId, message);
    if (turn && this.deps.turns) await this.deps.turns.completed(message.taskId, message.agent?.sessionId ?? null, turn);
    if (shared && message.commit !== null) {
      const branch = `coord/${message.taskId}`;
      // Best effort: dependents fetch the shared commit, not the branch.
      await publisher.advertise(branch, message.commit).catch((error: unknown) => {
        this.deps.logger.warn({ taskId: message.taskId, branch, err: error }, 'could not move the task branch on the shared remote');
      });
    }
    this.deps.breakers.settle(message.lease, { ok: true });
    this.deps.fallbacks.onSuccess(message.taskId);
    this.attemptOver(message.taskId);
    this.deps.events.emit('coord:complete', {
      taskId: message.taskId, workerId, attempt: message.attempt, exitCode: message.exitCode, result: message.result, commit: message.commit,
    });
  }

  /** Records a failed attempt: retry, a fallback hop, or dead (dependents blocked). */
  private async failed(workerId: string, failure: FailureReport): Promise<void> {
    const { store, events } = this.deps;
    const { taskId, lease, attempt } = failure;
    const record = await store.get(taskId);
    if (record?.lease !== lease) return this.stale(workerId, failure);
    const now = this.deps.now();
    const agent = storedAgentReport(record.spec, failure.agent, this.deps.agents);
    if (failure.code === 'RATE_LIMITED') return this.rateLimited(workerId, failure, record, agent, now);
    // A run that delivers messages: its delivery chain decides what runs next, not the retry policy.
    const workerCrashLooping = this.deps.workers.crashLooping(workerId);
    const routed = this.deps.turns ? await this.deps.turns.route(record, { code: failure.code, message: failure.message, at: now, workerCrashLooping }) : null;
    const stage = routed !== null ? null : this.deps.fallbacks.onFailure({
      task: record,
      workerId,
      code: failure.code,
      at: now,
      sessionIdleMs: now - (this.lastActivity.get(taskId) ?? now),
      workerCrashLooping,
      previousLog: taskLogFile(this.deps.taskLogDir, taskId, attempt),
    });
    const exhausted = stage === 'exhausted';
    const outcome = await store.fail(taskId, lease, {
      code: routed?.code ?? failure.code,
      message: routed?.message ?? (exhausted ? `${failure.message} (fallback chain exhausted)` : failure.message),
      exitCode: failure.exitCode,
      retryable: routed === null && failure.retryable && !exhausted,
      retryAfterMs: failure.retryAfterMs,
      now,
      ...agent,
    });
    if (outcome === null) return this.stale(workerId, failure);
    this.usage.attemptEnded(taskId);
    this.deps.breakers.settle(lease, { ok: false, code: failure.code, at: now });
    this.attemptOver(taskId);
    const error = { code: routed?.code ?? failure.code, message: routed?.message ?? failure.message };
    // The attempt's log exists once it started (the worker opened it); a hand-over that failed has none.
    const started = record.attempts.at(-1)?.startedAt != null;
    const logFile = started ? taskLogFile(this.deps.taskLogDir, taskId, attempt) : null;
    const hops = routed !== null && routed.code !== 'DELIVERY_EXHAUSTED';
    events.emit('coord:failed', { taskId, workerId, attempt, error, willRetry: outcome.status !== 'dead' || hops, output: failure.outputTail, logFile });
    if (outcome.status === 'dead' && !hops) events.emit('coord:dead', { taskId, error });
    if (routed !== null && this.deps.turns) await this.deps.turns.failed(record);
    else await this.emitBlocked(outcome.blocked);
  }

  /**
   * The agent met its provider's rate limit: not the task's fault, so no attempt is burnt and
   * no breaker counts it; the task waits until the limit resets (as the agent said, else
   * `rateLimitDefaultWaitMs`), at most `maxRateLimitWaits` times, then it is dead.
   */
  private async rateLimited(workerId: string, failure: FailureReport, record: TaskRecord, agent: ReturnType<typeof storedAgentReport>, now: number): Promise<void> {
    const { taskId, lease, attempt } = failure;
    const waitMs = failure.retryAfterMs ?? this.deps.rateLimitDefaultWaitMs;
    const error = { code: failure.code, message: failure.message };
    const outcome = await this.deps.store.defer(taskId, lease, { now, until: now + waitMs, reason: `rate limited: ${failure.message}`, error, ...agent });
    if (outcome === null) return this.stale(workerId, failure);
    this.deps.breakers.release(lease);
    this.attemptOver(taskId);
    this.usage.attemptEnded(taskId);
    const willRetry = outcome.status !== 'dead';
    this.deps.logger.warn({ taskId, workerId, attempt, waitMs, willRetry }, willRetry ? `rate limited: waiting ${Math.round(waitMs / 1000)} s` : 'rate limited too often: dead');
    // The provider's own limit (an agent said so) holds back every start on its key; the shared limiter's wait only this task.
    const signal = failure.agent !== undefined && failure.agent !== null;
    const key = rateKeyOf(record.spec, this.deps.agents);
    this.deps.events.emit('coord:rate-limited', {
      taskId, workerId, attempt, retryAt: willRetry ? new Date(now + waitMs).toISOString() : null, message: failure.message, key, signal, resetAt: new Date(now + waitMs).toISOString(),
    });
    const started = taskLogFile(this.deps.taskLogDir, taskId, attempt);
    this.deps.events.emit('coord:failed', { taskId, workerId, attempt, error, willRetry, output: failure.outputTail, logFile: started });
    if (!willRetry) {
      const dead = (await this.deps.store.get(taskId))?.error ?? error;
      this.deps.events.emit('coord:dead', { taskId, error: dead });
    }
    await this.emitBlocked(outcome.blocked);
  }

  /**
   * The worker could not prepare its worktree even after rebuilding it (charged to the
   * workspace): the task never ran, so it goes back unburnt to run on another worker, and
   * this worker leaves service.
   */
  private async workspaceFailed(workerId: string, message: WorkerMessageOf<'coord:failed'>): Promise<void> {
    this.deps.logger.error({ workerId, taskId: message.taskId, code: message.code, reason: message.message }, 'worker out of service: its worktree cannot be prepared');
    await this.release(message.taskId, message.lease, `the worktree of ${workerId} could not be prepared`);
    this.deps.workers.retire(workerId, `${message.code}: ${message.message}`);
  }

  /** The running attempt of `taskId` is over: its live facts go (the store has what lasts). */
  private attemptOver(taskId: string): void {
    this.lastActivity.delete(taskId);
    this.liveness.delete(taskId);
  }

  /** Normal after a stop, a drain deadline or a reaped lease: the attempt was taken back before its result came. */
  private stale(workerId: string, attempt: AttemptRef): void {
    this.deps.logger.debug({ workerId, taskId: attempt.taskId, lease: attempt.lease }, 'a late result for an attempt already taken back (released or reaped): ignored');
  }

  /** `coord:blocked` for each of `ids` that is blocked now (with the error that blocked it). */
  private async emitBlocked(ids: readonly string[]): Promise<void> {
    for (const id of ids) {
      const record = await this.deps.store.get(id);
      if (record?.status === 'blocked' && record.error) this.deps.events.emit('coord:blocked', { taskId: id, error: record.error });
    }
  }

}
