/**
 * Dispatch: matches ready tasks to idle workers, asks their breakers, claims each task from
 * the store under a lease, prepares its start commit and hands it to its worker. Dispatch
 * changes no task state beyond the claim: when a hand-over cannot happen (the start commit
 * cannot be made, the dependencies conflict, the worker went away) it says so to the outcome
 * path, which records it and emits the events.
 */
import { randomBytes } from 'node:crypto';
import type { AgentProfileConfig } from '../../agents/profiles.js';
import { toCoordError } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import type { AssignStrategy, WorkerSlot } from '../../pool/assign.js';
import type { TaskRecord, TaskStore } from '../../store/task-store.js';
import { dependencyHead, type DependencyHead } from '../../worktrees/shared-branches.js';
import type { StartCommit } from '../../worktrees/start-commit.js';
import type { BreakerBoard } from '../breakers.js';
import type { SupervisorEventBus } from '../events.js';
import type { FallbackBoard } from '../fallbacks.js';
import type { Outcomes } from '../outcomes/outcomes.js';
import type { Tracker } from '../tracker.js';
import type { Gates, Hold } from '../coordination/gates.js';
import type { WorkerPool } from '../worker-pool.js';
import { assignMessage, taskLogFile, type TurnDirective } from './assign-message.js';

/** The limits every attempt is handed with. */
export interface AttemptLimits {
  taskLogDir: string;
  defaultTimeoutMs: number | null;
  /** The cap on each attempt's log (task output bytes). */
  maxLogBytes: number;
  /** A running task silent this long is reported as perhaps waiting for input (null: never). */
  quietAfterMs: number | null;
  /** Agent profiles from the config, over the built-in ones. */
  agents: Readonly<Record<string, AgentProfileConfig>>;
  /** How long an agent may take to exit after its final result. */
  agentResultGraceMs: number;
  /** Silent and idle this long, an agent is stalled (null: never). */
  agentStallAfterMs: number | null;
}

export interface DispatchDeps {
  store: TaskStore;
  nodeId: string;
  leaseMs: number;
  strategy: AssignStrategy;
  workers: Pick<WorkerPool, 'slots' | 'assign' | 'gone'>;
  breakers: Pick<BreakerBoard, 'workerOpen' | 'admit' | 'hold' | 'drop'>;
  fallbacks: Pick<FallbackBoard, 'placeable' | 'placement'>;
  outcomes: Pick<Outcomes, 'attemptFailed' | 'block' | 'release'>;
  events: SupervisorEventBus;
  logger: Logger;
  tracker: Tracker;
  limits: AttemptLimits;
  /** The start commit of a task whose dependencies finished at `deps` (fetching their work when it is elsewhere). */
  startCommit(taskId: string, deps: DependencyHead[]): Promise<StartCommit>;
  /** Fetches the commits of `heads` made on other hosts (several hosts share a remote). */
  ensureLocal?(heads: DependencyHead[]): Promise<void>;
  /** A run that delivers messages (the mailbox): its prompt and session; null for an ordinary run. */
  turns?: { directive(task: TaskRecord): Promise<TurnDirective | null> };
  /** Budgets, declared files and the shared rate limit (src/supervisor/coordination/gates.ts); none: nothing holds a task back but the breakers. */
  gates?: Pick<Gates, 'workerOpen' | 'check' | 'acquire' | 'ended' | 'nextChangeMs' | 'rateKey'>;
  /** Whether new assignments are allowed (the coordinator is `running`). */
  accepting(): boolean;
  now(): number;
}

/** Why a ready task waits, as dispatch last said it. */
export interface HeldTask {
  scope: string;
  code: Hold['code'] | null;
  since: number;
}

export class Dispatcher {
  /** Workers chosen for a task whose start commit is still being computed. */
  private readonly reserved = new Set<string>();
  /** Tasks held back (an open breaker, a budget, declared files, a rate limit), and by what: announced once per hold. */
  private readonly held = new Map<string, HeldTask>();
  private passing = false;
  private passAgain = false;
  private scheduled = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly deps: DispatchDeps) {}

  /** Runs a dispatch pass soon (coalescing many requests into one pass). */
  schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.deps.tracker.run('dispatch pass', this.pass());
    });
  }

  /** No more passes or retry wake-ups (the run is closing). */
  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
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
      } while (this.passAgain && !this.stopped);
    } finally {
      this.passing = false;
    }
  }

  private async assignReady(): Promise<void> {
    const { store, strategy, breakers, workers } = this.deps;
    if (!this.deps.accepting()) return;
    const now = this.deps.now();
    const gates = this.deps.gates;
    let slots = workers.slots().filter((slot) => slot.idle && !this.reserved.has(slot.workerId) && breakers.workerOpen(slot.workerId) && (gates?.workerOpen(slot.workerId) ?? true));
    if (slots.length > 0) {
      // A few candidates per free slot, so tasks held back (placement, an open breaker) do not starve the rest.
      const waiting: TaskRecord[] = [];
      for (const task of await store.peekReady(now, slots.length * 8 + 16)) {
        if (slots.length === 0 || !this.deps.accepting()) break;
        const gated = gates?.check(task.spec) ?? null;
        if (gated !== null) {
          this.hold(task.spec.id, gated.scope, gated.code, now);
          continue;
        }
        const slot = strategy(task, this.deps.fallbacks.placeable(task.spec.id, slots, (id) => workers.gone(id), workers.slots().length));
        if (!slot) {
          waiting.push(task);
          continue;
        }
        const claimed = await this.claim(task, slot, now);
        if (claimed) slots = slots.filter((s) => s.workerId !== slot.workerId);
      }
      // Work stealing: a worker still idle takes, oldest first, a task the strategy kept for a busy worker.
      const steal = strategy.steal;
      if (steal !== undefined) {
        for (const task of waiting) {
          if (slots.length === 0 || !this.deps.accepting()) break;
          const slot = steal(task, this.deps.fallbacks.placeable(task.spec.id, slots, (id) => workers.gone(id), workers.slots().length));
          if (slot !== null && (await this.claim(task, slot, now))) {
            slots = slots.filter((s) => s.workerId !== slot.workerId);
            this.deps.events.emit('coord:stolen', { taskId: task.spec.id, workerId: slot.workerId });
          }
        }
      }
    }
    await this.armRetryTimer(now);
  }

  /** Admits, claims and starts handing over one task; false if it stays where it is. */
  private async claim(task: TaskRecord, slot: WorkerSlot, now: number): Promise<boolean> {
    const { breakers } = this.deps;
    const id = task.spec.id;
    const admitted = breakers.admit(task.spec, slot.workerId, randomBytes(6).toString('base64url'));
    if ('refusedBy' in admitted) {
      // An open breaker on this worker or command: the task waits (said once per hold).
      this.hold(id, admitted.refusedBy, null, now);
      return false;
    }
    // Last, what takes a share: a start of the shared rate limit, the declared files.
    const gated = this.deps.gates?.acquire(task.spec, now) ?? null;
    if (gated !== null) {
      breakers.drop(admitted.admission);
      this.hold(id, gated.scope, gated.code, now);
      return false;
    }
    const claim = await this.deps.store.claim({
      nodeId: this.deps.nodeId, workerId: slot.workerId, capabilities: slot.capabilities, leaseMs: this.deps.leaseMs, now, taskId: id,
    });
    if (!claim) {
      breakers.drop(admitted.admission); // another supervisor took it
      this.deps.gates?.ended(id);
      return false;
    }
    this.held.delete(id);
    breakers.hold(claim.lease, admitted.admission);
    this.reserved.add(slot.workerId);
    this.deps.events.emit('coord:assigned', { taskId: id, workerId: slot.workerId, attempt: claim.attempt });
    const handOver = this.handOver(claim.task, slot.workerId, claim.lease, claim.attempt).finally(() => {
      this.reserved.delete(slot.workerId);
      this.schedule();
    });
    this.deps.tracker.run(`hand-over of ${id}`, handOver);
    return true;
  }

  /** Records why `taskId` waits; said once per hold (`coord:held`). */
  private hold(taskId: string, scope: string, code: Hold['code'] | null, now: number): void {
    const before = this.held.get(taskId);
    if (before?.scope === scope) return;
    this.held.set(taskId, { scope, code, since: now });
    this.deps.events.emit('coord:held', { taskId, scope, ...(code === null ? {} : { code }) });
  }

  /** The ready tasks held back, and by what (a task claimed since is no longer held). */
  holds(): ReadonlyMap<string, HeldTask> {
    return this.held;
  }

  /** `taskId` left the ready set some other way (cancelled, dead, blocked): it is held no more. */
  unhold(taskId: string): void {
    this.held.delete(taskId);
  }

  /** Wakes the dispatcher when the earliest retry backoff, lease expiry or rate-limit window is due. */
  private async armRetryTimer(now: number): Promise<void> {
    const due = await this.deps.store.nextDueMs(now);
    const gate = this.deps.gates?.nextChangeMs(now) ?? null;
    const delay = due === null ? gate : gate === null ? due : Math.min(due, gate);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = delay === null || this.stopped ? undefined : setTimeout(() => this.schedule(), Math.max(delay, 5));
    this.retryTimer?.unref();
  }

  /** Computes the start commit (async git), then gives the task to the worker. */
  private async handOver(task: TaskRecord, workerId: string, lease: string, attempt: number): Promise<void> {
    const { store, logger, outcomes, limits } = this.deps;
    const id = task.spec.id;
    const ref = { taskId: id, lease, attempt };
    let start: StartCommit;
    let turn: TurnDirective | null = null;
    try {
      turn = (await this.deps.turns?.directive(task)) ?? null;
      // A run that carries on a finished task's session starts from its own branch's work.
      if (turn !== null && task.commit !== null) {
        // Its last turn may have run on another host: that commit is fetched first.
        const made = task.attempts.findLast((a) => a.code === null && a.finishedAt !== null);
        await this.deps.ensureLocal?.([{ ...dependencyHead(id, task), node: made?.node ?? null }]);
        start = { ok: true, commit: task.commit };
      } else if (task.spec.workspace === 'none') {
        // Nothing is checked out for it: no dependency's work to merge, no git at all.
        start = await this.deps.startCommit(id, []);
      } else {
        // A dependency that needed no workspace completed with no commit: it adds no work.
        const tips = (await Promise.all(task.spec.deps.map(async (dep) => dependencyHead(dep, await store.get(dep))))).filter((tip) => tip.commit !== '');
        start = await this.deps.startCommit(id, tips);
      }
    } catch (error) {
      const err = toCoordError(error, 'GIT_FAILED');
      logger.error({ taskId: id, err }, 'could not prepare the start commit');
      return outcomes.attemptFailed(workerId, ref, err.code, err.message);
    }
    if (!start.ok) {
      const { between, files } = start.conflict;
      return outcomes.block(id, { code: 'DEP_CONFLICT', message: `dependencies ${between[0]} and ${between[1]} conflict in ${files.join(', ')}`, details: { between, files } });
    }
    const message = assignMessage(task, {
      attempt,
      lease,
      startCommit: start.commit,
      timeoutMs: limits.defaultTimeoutMs,
      logFile: taskLogFile(limits.taskLogDir, id, attempt),
      maxLogBytes: limits.maxLogBytes,
      quietAfterMs: limits.quietAfterMs,
      extraEnv: this.deps.fallbacks.placement(id)?.env ?? {},
      agents: limits.agents,
      agentResultGraceMs: limits.agentResultGraceMs,
      agentStallAfterMs: limits.agentStallAfterMs,
      turn,
      rateKey: this.deps.gates?.rateKey(task.spec) ?? null,
    });
    // The worker may have died while git was working: then the task goes back, unburnt.
    if (!this.deps.accepting() || !this.deps.workers.assign(workerId, message)) await outcomes.release(id, lease, 'worker unavailable');
  }
}
