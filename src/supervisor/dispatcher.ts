/**
 * Dispatch: matches ready tasks to idle workers, claims each from the store under a lease,
 * prepares its start commit, hands it to its worker, and applies results to the store. Every
 * task-state change this supervisor makes goes through here, so every `coord:*` task event
 * comes from here too. Store calls are asynchronous (SQLite, PostgreSQL); every one is
 * tracked so a stop can wait for them before the store closes.
 */
import { toCoordError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { AssignStrategy, WorkerSlot } from '../pool/assign.js';
import type { ParentMessageOf, WorkerMessageOf } from '../protocol/messages.js';
import type { TaskRecord, TaskStore } from '../store/task-store.js';
import { dependencyHead, type DependencyHead } from '../worktrees/shared-branches.js';
import type { StartCommit } from '../worktrees/start-commit.js';
import { assignMessage, taskLogFile } from './assign-message.js';
import type { Admission, BreakerBoard } from './breakers.js';
import { emitIfSettled } from './counts-cache.js';
import type { SupervisorEventBus } from './events.js';
import type { FallbackBoard } from './fallbacks.js';
import { attemptFailure, FailureRecorder } from './failures.js';
import { startLeaseUpkeep } from './lease-upkeep.js';
import { randomBytes } from 'node:crypto';

export { taskLogFile } from './assign-message.js';

/** What the dispatcher needs from the rest of the supervisor. */
export interface DispatcherDeps {
  store: TaskStore;
  nodeId: string;
  leaseMs: number;
  strategy: AssignStrategy;
  events: SupervisorEventBus;
  logger: Logger;
  taskLogDir: string;
  defaultTimeoutMs: number | null;
  /** The cap on each attempt's log (task output bytes). */
  maxLogBytes: number;
  breakers: BreakerBoard;
  fallbacks: FallbackBoard;
  /** Worker slots as they are now (idle = the worker machine is in `idle`). */
  slots(): WorkerSlot[];
  /** Whether new assignments are allowed (the coordinator is `running`). */
  accepting(): boolean;
  /** The start commit of a task whose dependencies finished at `deps` (fetching their work when it is elsewhere). */
  startCommit(taskId: string, deps: DependencyHead[]): Promise<StartCommit>;
  /** Whether completed task branches are pushed to a shared remote (several hosts). */
  publishing(): boolean;
  /** Pushes a completed task's commit as its branch to the shared remote. */
  publish(branch: string, commit: string): Promise<void>;
  /** Hands an assign message to the worker's machine; false if the worker cannot take it now. */
  assign(workerId: string, message: ParentMessageOf<'coord:assign'>): boolean;
  /** Asks the worker running `taskId` to cancel it. */
  cancel(workerId: string, taskId: string, reason: string): void;
  /** Takes a worker whose worktree cannot be prepared out of service. */
  retire(workerId: string, reason: string): void;
  /** Whether the worker restarts in a loop (for the fallback chain's shortcut). */
  crashLooping(workerId: string): boolean;
  /** Whether the worker is gone for good (failed or exited). */
  workerGone(workerId: string): boolean;
  /** Stops the run on a storage fault (true); false for any other error, which is only logged. */
  fatal?(error: unknown): boolean;
  now?: () => number;
}

export class Dispatcher {
  /** Workers chosen for a task whose start commit is still being computed. */
  private readonly reserved = new Set<string>();
  private passing = false;
  private passAgain = false;
  private scheduled = false;
  private settledCheckQueued = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly pending = new Set<Promise<unknown>>();
  private readonly failures: FailureRecorder;
  private readonly now: () => number;

  constructor(private readonly deps: DispatcherDeps) {
    this.now = deps.now ?? Date.now;
    this.failures = new FailureRecorder(deps, this.now);
  }

  /** Runs a dispatch pass soon (coalescing many requests into one pass). */
  schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.track(this.pass());
    });
  }

  /** Resolves when every store call started so far has finished. */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  stop(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.pending.add(promise);
    const forget = (): void => void this.pending.delete(promise);
    promise.then(forget, (error: unknown) => {
      forget();
      if (!this.deps.fatal?.(error)) this.deps.logger.error({ err: error }, 'dispatcher store call failed');
    });
    return promise;
  }

  /** One pass; passes never overlap (a request during a pass runs another after it). */
  private async pass(): Promise<void> {
    if (this.passing) {
      this.passAgain = true;
      return;
    }
    this.passing = true;
    try {
      do {
        this.passAgain = false;
        await this.assignReady();
      } while (this.passAgain);
    } finally {
      this.passing = false;
    }
  }

  private async assignReady(): Promise<void> {
    const { store, strategy, breakers } = this.deps;
    if (!this.deps.accepting()) return;
    const now = this.now();
    let slots = this.deps.slots().filter((slot) => slot.idle && !this.reserved.has(slot.workerId) && breakers.workerOpen(slot.workerId));
    if (slots.length > 0) {
      // A few candidates per free slot, so tasks held back (placement, an open breaker) do not starve the rest.
      for (const task of await store.peekReady(now, slots.length * 8 + 16)) {
        if (slots.length === 0 || !this.deps.accepting()) break;
        const slot = strategy(task, this.deps.fallbacks.placeable(task.spec.id, slots, this.deps.workerGone, this.deps.slots().length));
        if (!slot) continue;
        const admission = breakers.admit(task.spec, slot.workerId, randomBytes(6).toString('base64url'));
        if (!admission) continue; // an open breaker on this worker or command: the task waits
        const claim = await store.claim({
          nodeId: this.deps.nodeId, workerId: slot.workerId, capabilities: slot.capabilities, leaseMs: this.deps.leaseMs, now, taskId: task.spec.id,
        });
        if (!claim) {
          breakers.release(admission); // another supervisor took it
          continue;
        }
        slots = slots.filter((s) => s.workerId !== slot.workerId);
        this.failures.admitted(claim.lease, admission);
        this.reserved.add(slot.workerId);
        this.deps.events.emit('coord:assigned', { taskId: task.spec.id, workerId: slot.workerId, attempt: claim.attempt });
        void this.track(this.handOver(claim.task, slot.workerId, claim.lease, claim.attempt)).finally(() => {
          this.reserved.delete(slot.workerId);
          this.schedule();
        });
      }
    }
    await this.armRetryTimer(now);
  }

  /** Wakes the dispatcher when the earliest retry backoff or lease expiry is due. */
  private async armRetryTimer(now: number): Promise<void> {
    const delay = await this.deps.store.nextDueMs(now);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = delay === null ? undefined : setTimeout(() => this.schedule(), Math.max(delay, 5));
    this.retryTimer?.unref();
  }

  /** Computes the start commit (async git), then gives the task to the worker. */
  private async handOver(task: TaskRecord, workerId: string, lease: string, attempt: number): Promise<void> {
    const { store, logger } = this.deps;
    const id = task.spec.id;
    let start: StartCommit;
    try {
      const tips = await Promise.all(task.spec.deps.map(async (dep) => dependencyHead(dep, await store.get(dep))));
      start = await this.deps.startCommit(id, tips);
    } catch (error) {
      const err = toCoordError(error, 'GIT_FAILED');
      logger.error({ taskId: id, err }, 'could not prepare the start commit');
      // Work on another host that cannot be fetched now may be fetchable later (a network
      // blip, a push still landing); a broken local repository will not mend itself.
      const retryable = err.code === 'DEP_COMMIT_MISSING';
      await this.failures.failed(workerId, attemptFailure({ taskId: id, lease, attempt }, err.code, err.message, retryable));
      return;
    }
    if (!start.ok) {
      const { between, files } = start.conflict;
      await this.failures.block(id, { code: 'DEP_CONFLICT', message: `dependencies ${between[0]} and ${between[1]} conflict in ${files.join(', ')}`, details: { between, files } });
      return;
    }
    const message = assignMessage(task, {
      attempt,
      lease,
      startCommit: start.commit,
      timeoutMs: this.deps.defaultTimeoutMs,
      logFile: taskLogFile(this.deps.taskLogDir, id, attempt),
      maxLogBytes: this.deps.maxLogBytes,
      extraEnv: this.deps.fallbacks.placement(id)?.env ?? {},
    });
    // The worker may have died while git was working: then the task goes back, unburnt.
    if (!this.deps.accepting() || !this.deps.assign(workerId, message)) await this.failures.release(id, lease, 'worker unavailable');
  }

  /** A worker said it started the task. */
  started(workerId: string, message: WorkerMessageOf<'coord:started'>): void {
    this.failures.activity(message.taskId, this.now());
    void this.track(
      this.deps.store.markRunning(message.taskId, message.lease, this.now()).then((ok) => {
        if (ok) this.deps.events.emit('coord:started', { taskId: message.taskId, workerId, attempt: message.attempt });
      }),
    );
  }

  /** A worker reported output from a running task: a sign of life for staleness. */
  progress(taskId: string): void {
    this.failures.activity(taskId, this.now());
  }

  /** A result with the worker's current lease (the store fences it again). */
  result(workerId: string, message: WorkerMessageOf<'coord:complete'> | WorkerMessageOf<'coord:failed'>): void {
    const apply = message.type === 'coord:complete'
      ? this.completed(workerId, message)
      : message.chargedTo === 'workspace'
        ? this.workspaceFailed(workerId, message)
        : this.failures.failed(workerId, message);
    void this.track(apply.then(() => this.afterChange()));
  }

  /**
   * The worker could not prepare its worktree even after rebuilding it: the task never ran,
   * so it goes back unburnt (to run on another worker), and this worker is out of service.
   */
  private async workspaceFailed(workerId: string, message: WorkerMessageOf<'coord:failed'>): Promise<void> {
    this.deps.logger.error({ workerId, taskId: message.taskId, code: message.code, reason: message.message }, 'worker out of service: its worktree cannot be prepared');
    await this.failures.release(message.taskId, message.lease, `the worktree of ${workerId} could not be prepared`);
    this.deps.retire(workerId, `${message.code}: ${message.message}`);
  }

  /**
   * With several hosts, the branch is pushed before the completion is recorded, so any host
   * that sees the task complete can fetch its work. A push that fails fails the attempt
   * (retryably): a completion whose work no other host can reach would block its dependents.
   */
  private async completed(workerId: string, message: WorkerMessageOf<'coord:complete'>): Promise<void> {
    if (this.deps.publishing() && message.commit !== null) {
      const record = await this.deps.store.get(message.taskId);
      // A stale attempt must not overwrite the branch of the current one.
      if (!record || record.lease !== message.lease) return this.failures.completed(workerId, message);
      try {
        await this.deps.publish(record.branch, message.commit);
      } catch (error) {
        const err = toCoordError(error, 'GIT_PUSH_FAILED');
        this.deps.logger.error({ taskId: message.taskId, err }, 'could not push the task branch');
        return this.failures.failed(workerId, attemptFailure(message, err.code, err.message, true, message.exitCode));
      }
    }
    return this.failures.completed(workerId, message);
  }

  /** The worker holding a task died (or was killed as hung): the attempt failed, retryably. */
  lost(workerId: string, task: { taskId: string; lease: string; attempt: number }, exit: { code: number | null; signal: string | null; hung: boolean }): void {
    const report = exit.hung
      ? attemptFailure(task, 'WORKER_HUNG', `worker ${workerId} stopped heartbeating while running the task and was killed`, true)
      : attemptFailure(task, 'WORKER_CRASHED', `worker ${workerId} exited (code ${exit.code ?? 'none'}, signal ${exit.signal ?? 'none'}) while running the task`, true);
    void this.track(this.failures.failed(workerId, report).then(() => this.afterChange()));
  }

  /** Cancels every task this node has in flight and returns it to `ready` without using an attempt. */
  cancelInFlight(reason: string): void {
    void this.track(
      (async () => {
        for (const held of await this.deps.store.inFlight(this.deps.nodeId)) {
          if (await this.failures.release(held.taskId, held.lease, reason)) this.deps.cancel(held.workerId, held.taskId, reason);
        }
      })(),
    );
  }

  /** Starts renewing this node's leases and reaping expired ones; returns a function that stops it. */
  startUpkeep(): () => void {
    const { nodeId, leaseMs } = this.deps;
    return startLeaseUpkeep({
      store: () => this.deps.store, nodeId, leaseMs, logger: () => this.deps.logger, now: this.now,
      fatal: (error) => this.deps.fatal?.(error) ?? false,
      onReaped: async (reaped) => {
        for (const r of reaped) this.failures.reaped(r);
        await this.afterChange();
      },
    });
  }

  /**
   * Another supervisor changed the shared queue (PostgreSQL NOTIFY, SQLite data_version):
   * there may be work for this node, or the run may be over without a task event here.
   * Checks are coalesced: a burst of changes costs one query.
   */
  changedElsewhere(): void {
    this.schedule();
    if (this.settledCheckQueued) return;
    this.settledCheckQueued = true;
    setTimeout(() => {
      this.settledCheckQueued = false;
      void this.track(emitIfSettled(this.deps.store, this.deps.events));
    }, 20).unref();
  }

  private async afterChange(): Promise<void> {
    await emitIfSettled(this.deps.store, this.deps.events);
    this.schedule();
  }
}

