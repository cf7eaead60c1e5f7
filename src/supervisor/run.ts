/**
 * One started run of a supervisor: built from the {@link Runtime} once `initialize` opened
 * it, with every part constructed from concrete values — the outcome path, dispatch, the
 * breakers and fallback chains, lease upkeep, the counts — and closed once by
 * `closeResources`. After the close it keeps the last word of the store (tasks, counts) for
 * the summary.
 */
import path from 'node:path';
import type { AnyActorRef } from 'xstate';
import type { CoordError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { AssignStrategy } from '../pool/assign.js';
import type { RunProcessOptions, ServiceMessage } from '../pool/run-process.js';
import { defaultWorkerEntry } from '../pool/worker-entry.js';
import type { ParentMessage, WorkerMessageOf } from '../protocol/messages.js';
import type { TaskRecord } from '../store/task-store.js';
import { startCommitFor } from '../worktrees/start-commit.js';
import { BreakerBoard } from './breakers.js';
import { CountsCache, emitIfSettled } from './counts-cache.js';
import { Dispatcher, type AttemptLimits } from './dispatch/dispatcher.js';
import { startLeaseUpkeep } from './dispatch/lease-upkeep.js';
import type { SupervisorEventBus } from './events.js';
import type { FaultStop } from './fault-stop.js';
import { FallbackBoard } from './fallbacks.js';
import type { ResolvedOptions } from './options.js';
import type { AttemptRef } from './outcomes/failure-report.js';
import { Outcomes } from './outcomes/outcomes.js';
import { Deliveries } from './mailbox/deliveries.js';
import { Turns } from './mailbox/turns.js';
import type { Runtime } from './runtime.js';
import { handleServiceRequest } from './services.js';
import { createTaskReaper, type TaskReaper } from './task-reaper.js';
import { Tracker } from './tracker.js';
import { Coordination } from './coordination/coordination.js';
import type { WorkerRegistry } from './worker-registry.js';
import type { WorkerInput } from '../../machines/worker.js';
import { PoolDesk } from './pools/pool-desk.js';

/** What a run needs from the supervisor around it. */
export interface RunParts {
  config: ResolvedOptions;
  events: SupervisorEventBus;
  workers: WorkerRegistry;
  faults: FaultStop;
  strategy: AssignStrategy;
  /** Children of the coordinator actor (breakers, fallback chains) and how to spawn them. */
  children: {
    child(id: string): AnyActorRef | undefined;
    spawnBreaker(scope: string): void;
    spawnFallback(taskId: string, key: string): void;
  };
  /** Whether new assignments are allowed (the coordinator is `running`). */
  accepting(): boolean;
  /** A worker sent a message that did not parse. */
  onRefused: RunProcessOptions['onRefused'];
  /** Spawns workers whose setup is done (the coordinator is running). */
  addWorkers(workers: WorkerInput[]): void;
  /** A worker's heartbeat arrived. */
  onHeartbeat?(workerId: string): void;
  /** The run cannot go on: drain and stop, failed with `error`. */
  stopWith(error: CoordError): void;
}

export class Run {
  readonly logger: Logger;
  readonly tracker: Tracker;
  readonly breakers: BreakerBoard;
  readonly fallbacks: FallbackBoard;
  readonly outcomes: Outcomes;
  readonly dispatcher: Dispatcher;
  readonly counts: CountsCache;
  /** The mailbox: messages to agents, and their delivery. */
  readonly deliveries: Deliveries;
  readonly turns: Turns;
  /** How worker processes are forked for this run. */
  readonly processOptions: RunProcessOptions;
  /** Budgets, declared files, the shared rate limit, the merge queue and conflict prediction. */
  readonly coordination: Coordination;
  /** The pools: setups, handoff files, readiness. */
  readonly pools: PoolDesk;
  /** What every attempt is handed with; dispatch reads it at each hand-over, so a live change applies to the next attempt. */
  readonly limits: AttemptLimits;
  /** Kills what tasks leave behind: a lost attempt's processes, and at the close the whole run's. */
  private readonly reaper: TaskReaper;
  private finalTasks: TaskRecord[] | undefined;
  /** True once {@link close} began: the store and the locks are being (or have been) let go. */
  closed = false;
  private readonly closers: Array<() => void> = [];
  private settledCheckQueued = false;

  constructor(
    readonly runtime: Runtime,
    private readonly parts: RunParts,
  ) {
    const { config, events, workers, faults } = parts;
    const { store, logger, shared, repo, taskLogDir } = runtime;
    const now = (): number => Date.now();
    this.logger = logger;
    this.reaper = createTaskReaper(() => logger);
    this.tracker = new Tracker(logger, (error) => faults.fatal(error));
    this.counts = new CountsCache(store, (error) => faults.fatal(error));
    this.counts.watch(events);
    const { child, spawnBreaker, spawnFallback } = parts.children;
    this.breakers = new BreakerBoard({ child, spawn: spawnBreaker });
    this.fallbacks = new FallbackBoard({ child, spawn: spawnFallback, taskDir: (taskId) => path.join(taskLogDir, taskId) }, config.fallback.codes);
    this.deliveries = new Deliveries({
      store, events, logger, nodeId: config.nodeId, config: config.mailbox, agents: () => this.limits.agents, now,
      input: (workerId, message) => workers.input(workerId, message),
      interrupt: async (taskId, lease, workerId, reason) => {
        if (await this.outcomes.release(taskId, lease, reason)) workers.cancel(workerId, taskId, reason);
      },
      sessionOf: (taskId) => this.outcomes.usage.sessionOf(taskId),
      changed: () => this.changed(),
      fault: (error) => faults.fatal(error),
    });
    this.turns = new Turns({
      store, deliveries: this.deliveries, events, logger, now, agents: () => this.limits.agents,
      limits: () => ({ maxNoProgressTurns: config.mailbox.maxNoProgressTurns, maxRepeatedFindings: config.mailbox.maxRepeatedFindings }),
    });
    this.outcomes = new Outcomes({
      store, events, logger, breakers: this.breakers, fallbacks: this.fallbacks, workers, publisher: shared,
      nodeId: config.nodeId, taskLogDir, now, changed: () => this.changed(),
      agents: config.agents, rateLimitDefaultWaitMs: config.rateLimitDefaultWaitMs, turns: this.turns,
    });
    this.coordination = new Coordination({
      config, repoRoot: repo.root, stateDir: runtime.stateDir, store, events, logger, tracker: this.tracker, workers, now,
      agents: () => this.limits.agents,
      posted: () => this.deliveries.poke(),
      schedule: () => this.dispatcher.schedule(),
      unhold: (taskId) => this.dispatcher.unhold(taskId),
      changed: () => this.tracker.run('a settled check', this.changed()),
      attemptFailed: (workerId, ref, code, message) => this.outcomes.attemptFailed(workerId, ref, code, message),
    });
    this.limits = {
      taskLogDir, defaultTimeoutMs: config.defaultTimeoutMs, maxLogBytes: config.maxLogBytes, quietAfterMs: config.quietAfterMs,
      agents: config.agents, agentResultGraceMs: config.agentResultGraceMs, agentStallAfterMs: config.agentStallAfterMs,
    };
    this.dispatcher = new Dispatcher({
      store, nodeId: config.nodeId, leaseMs: config.leaseMs, strategy: parts.strategy, workers, breakers: this.breakers,
      fallbacks: this.fallbacks, outcomes: this.outcomes, events, logger, tracker: this.tracker, now,
      limits: this.limits, turns: this.turns,
      startCommit: async (taskId, deps) => {
        await shared.ensureLocal(deps);
        return startCommitFor(repo.root, repo.baseCommit, taskId, deps);
      },
      ensureLocal: (heads) => shared.ensureLocal(heads),
      accepting: parts.accepting,
      gates: this.coordination.gates,
    });
    this.pools = new PoolDesk({
      pools: runtime.pools, slots: runtime.slots, stateDir: runtime.stateDir, repo, events, logger, now, handoffRemove: config.handoffRemove,
      workers: () => workers.describe(),
      add: parts.addWorkers,
      running: parts.accepting,
      fatal: (error) => parts.stopWith(error),
    });
    const poolEnv = new Map(runtime.pools.map((pool) => [pool.id, pool.env]));
    this.processOptions = {
      entry: config.workerEntry ?? defaultWorkerEntry(), repoRoot: repo.root, runId: this.reaper.runId, logger,
      heartbeatMs: config.heartbeatMs, moduleThreads: config.moduleThreads, killGraceMs: config.killGraceMs,
      onRefused: parts.onRefused,
      envOf: (workerId) => poolEnv.get(this.pools.poolOf(workerId)) ?? {},
      ...(parts.onHeartbeat === undefined ? {} : { onHeartbeat: parts.onHeartbeat }),
      onServiceMessage: (workerId, message, reply) => this.workerSaid(workerId, message, reply),
    };
  }

  /**
   * Takes back what this node held at its last stop, then starts the lease upkeep and
   * listening for changes other supervisors make to a shared store.
   */
  async open(): Promise<void> {
    const { store, logger } = this.runtime;
    // Following the events before anything is dispatched: the recovery's changes reach it too.
    this.closers.push(await this.coordination.open());
    await this.outcomes.recover();
    await this.counts.refresh();
    this.closers.push(startLeaseUpkeep({
      store, nodeId: this.parts.config.nodeId, leaseMs: this.parts.config.leaseMs, tracker: this.tracker, now: Date.now,
      onReaped: (reaped) => this.outcomes.reaped(reaped),
    }));
    this.closers.push(store.onChange(() => this.changedElsewhere()));
    this.deliveries.start();
    this.closers.push(() => this.deliveries.stop());
    const { repo, stateDir, shared } = this.runtime;
    logger.info({ repo: repo.root, baseCommit: repo.baseCommit, stateDir, store: store.kind, nodeId: this.parts.config.nodeId, remote: shared.remote, workers: this.runtime.workers.length }, 'initialized');
  }

  /** A worker's current result (the worker machine checked the lease it holds). */
  workerResult(workerId: string, message: WorkerMessageOf<'coord:complete'> | WorkerMessageOf<'coord:failed'>): void {
    this.tracker.run(`applying the result of ${message.taskId}`, this.outcomes.report(workerId, message));
  }

  /** The worker died holding `task`: its leftovers are killed, and the attempt failed. */
  workerLost(workerId: string, task: AttemptRef, exit: { code: number | null; signal: string | null; hung: boolean }): void {
    void this.reaper.attemptLost(workerId, task);
    this.tracker.run(`the lost attempt of ${task.taskId}`, this.outcomes.lost(workerId, task, exit));
  }

  /** Every task this node holds goes back to ready and its worker is asked to cancel it. */
  cancelInFlight(reason: string): void {
    this.tracker.run('cancelling tasks in flight', this.outcomes.cancelInFlight(reason));
  }

  /** The tasks as the store last said (after the close: as it said at the close). */
  async tasks(): Promise<TaskRecord[]> {
    return this.finalTasks ?? this.runtime.store.list();
  }

  /** Stops dispatch and upkeep, waits for what is in flight in the store, and releases everything held. */
  async close(): Promise<void> {
    this.closed = true;
    await this.pools.close();
    await this.reaper.runEnded(); // the workers are gone: whatever their tasks left goes too
    for (const close of this.closers.splice(0)) close();
    this.dispatcher.stop();
    await this.coordination.close();
    await this.tracker.flush();
    // A store that failed mid-run may fail here again: close what can be closed anyway,
    // and keep the first fault as the run's error (the summary falls back on the counts).
    const faulted = (error: unknown): undefined => {
      if (!this.parts.faults.fatal(error)) throw error;
      return undefined;
    };
    await this.counts.refresh().catch(faulted);
    this.finalTasks = await this.runtime.store.list().catch(faulted);
    await this.repairSharedBranches(this.finalTasks ?? []);
    await this.runtime.holds.releaseAll().catch(faulted);
  }

  /** With several hosts: the remote's task branches made to match the recorded completions (best effort). */
  private async repairSharedBranches(tasks: readonly TaskRecord[]): Promise<void> {
    const { shared, logger } = this.runtime;
    if (!shared.publishing) return;
    const tips = tasks.flatMap((task) => (task.status === 'complete' && task.commit !== null ? [{ branch: task.branch, commit: task.commit }] : []));
    try {
      const moved = await shared.advertiseAll(tips);
      if (moved.length > 0) logger.info({ branches: moved }, `moved ${moved.length} task branch(es) on the shared remote to their recorded completions`);
    } catch (error) {
      logger.warn({ err: error }, 'could not check the task branches on the shared remote');
    }
  }

  /** A worker's message that is not for its machine: a report about a task, or a service request. */
  private workerSaid(workerId: string, message: ServiceMessage, reply: (message: ParentMessage) => void): void {
    switch (message.type) {
      case 'coord:started':
      case 'coord:progress':
      case 'coord:quiet':
      case 'coord:liveness':
      case 'coord:usage':
        this.tracker.run(`${message.type} from ${workerId}`, this.outcomes.report(workerId, message));
        return;
      case 'coord:input-result':
        this.deliveries.inputResult(message);
        return;
      case 'coord:rate-request':
        reply(this.coordination.gates.rates.answer(message, Date.now()));
        return;
      default:
        handleServiceRequest({
          store: this.runtime.store, logger: this.logger, repoRoot: this.runtime.repo.root,
          onWorkspaceRepaired: (id) => this.parts.workers.countRepair(id),
        }, workerId, message, reply);
    }
  }

  /** After a change: dispatch again, and say so if nothing is left to run (nor to merge). */
  private async changed(): Promise<void> {
    this.dispatcher.schedule();
    if (this.idle()) await emitIfSettled(this.runtime.store, this.parts.events);
  }

  /** True when the run has nothing of its own in flight beyond the tasks (the merge queue). */
  idle(): boolean {
    return this.coordination.idle();
  }

  /**
   * Another supervisor changed the shared queue (PostgreSQL NOTIFY, SQLite data_version):
   * there may be work for this node, or the run may be over without a task event here.
   * Checks are coalesced: a burst of changes costs one query.
   */
  private changedElsewhere(): void {
    this.dispatcher.schedule();
    this.deliveries.poke();
    if (this.settledCheckQueued) return;
    this.settledCheckQueued = true;
    setTimeout(() => {
      this.settledCheckQueued = false;
      this.tracker.run('a settled check', emitIfSettled(this.runtime.store, this.parts.events));
    }, 20).unref();
  }
}
