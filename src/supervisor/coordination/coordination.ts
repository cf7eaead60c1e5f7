/**
 * A run's coordination (docs/coordination.md), put together: the gates dispatch asks
 * (budgets, declared files, the shared rate limit), the merge queue, and conflict prediction.
 * It follows the attempts through the events — usage is spend and tokens, an attempt's end
 * frees what it held, a provider's rate limit cools its key, a completion goes to the merge
 * queue and to the conflict checks — and stops a task that crosses its own budget.
 */
import path from 'node:path';
import type { Logger } from '../../log/logger.js';
import type { TaskStore } from '../../store/task-store.js';
import type { SupervisorEventBus, SupervisorEvents } from '../events.js';
import type { MessageSource } from '../../mailbox/types.js';
import { postMessage } from '../mailbox/operator.js';
import type { ResolvedOptions } from '../options.js';
import type { CoordinationSummary } from '../summary.js';
import type { Tracker } from '../tracker.js';
import type { WorkerRegistry } from '../worker-registry.js';
import type { AgentProfileConfig } from '../../agents/profiles.js';
import { BudgetDesk } from './budgets.js';
import { ConflictMonitor } from './conflicts.js';
import { FileClaims } from './files.js';
import { Gates } from './gates.js';
import { MergeDesk } from './merge.js';
import { RateDesk } from './rates.js';

/** The most of a merge failure's text sent to the agent (the test log has all of it). */
const MERGE_MESSAGE_CHARS = 16_000;

export interface CoordinationDeps {
  config: ResolvedOptions;
  repoRoot: string;
  stateDir: string;
  store: TaskStore;
  events: SupervisorEventBus;
  logger: Logger;
  tracker: Tracker;
  workers: Pick<WorkerRegistry, 'running' | 'notify' | 'cancel'>;
  agents: () => Readonly<Record<string, AgentProfileConfig>>;
  now(): number;
  /** A message was posted to an agent's mailbox: deliver it soon. */
  posted(): void;
  /** Dispatch again (caps raised). */
  schedule(): void;
  /** A ready task left the ready set some other way: it is held no more. */
  unhold(taskId: string): void;
  /** The run may be settled (the merge queue went idle). */
  changed(): void;
  /** Stops the attempt `ref` of `taskId` with `code` (the outcome path). */
  attemptFailed(workerId: string, ref: { taskId: string; lease: string; attempt: number }, code: 'BUDGET_EXCEEDED', message: string): Promise<void>;
}

export class Coordination {
  readonly gates: Gates;
  /** The test-gated merge queue, when the `merge` option sets one up. */
  readonly merge: MergeDesk | null;
  readonly conflicts: ConflictMonitor;

  constructor(private readonly deps: CoordinationDeps) {
    const { config, store, events, logger, tracker, now } = deps;
    this.gates = new Gates(
      new RateDesk(config.rateLimits, deps.agents, logger),
      new BudgetDesk(config.budgets, {
        store, events, logger, now, agents: deps.agents,
        onTaskCap: (taskId, workerId, spentUsd, capUsd) => tracker.run(`stopping ${taskId} at its budget`, this.stopAtCap(taskId, workerId, spentUsd, capUsd)),
        released: () => deps.schedule(),
      }),
      new FileClaims(),
    );
    this.merge = config.merge === undefined ? null : new MergeDesk({
      options: config.merge, repoRoot: deps.repoRoot, dir: path.join(deps.stateDir, 'merge'), nodeId: config.nodeId, store, events, logger, now,
      post: (taskId, text, meta) => this.post(taskId, 'merge-queue', text.length > MERGE_MESSAGE_CHARS ? `…${text.slice(-MERGE_MESSAGE_CHARS)}` : text, meta),
      changed: () => deps.changed(),
    });
    this.conflicts = new ConflictMonitor({
      repoRoot: deps.repoRoot, scratchDir: path.join(deps.stateDir, 'conflicts'), target: config.merge?.target ?? null, intervalMs: config.conflictCheckMs,
      events, logger, tracker, now,
      running: () => deps.workers.running(),
      notify: (workerId, message) => void deps.workers.notify(workerId, message),
      post: (taskId, text, meta) => this.post(taskId, 'conflict', text, meta),
      merged: this.merge === null ? null : (taskId) => this.merge?.state(taskId)?.status === 'merged',
    });
  }

  /** Reads the durable spend and merge verdicts, and starts following the events and the periodic checks; returns the stop. */
  async open(): Promise<() => void> {
    await this.gates.budgets.load();
    if (this.merge !== null) await this.merge.open(await this.deps.store.list());
    this.conflicts.start();
    const unwatch = this.deps.events.onAny((name, payload) => this.follow(name, payload));
    return () => {
      unwatch();
      this.conflicts.stop();
    };
  }

  /** New rate limits and budgets (live settings). */
  configure(change: { rateLimits?: ResolvedOptions['rateLimits']; budgets?: ResolvedOptions['budgets'] | null }): void {
    if (change.rateLimits !== undefined) this.gates.rates.configure(change.rateLimits);
    if (change.budgets !== undefined) this.gates.budgets.configure(change.budgets ?? undefined);
    this.deps.schedule();
  }

  /** True when the merge queue has nothing to test. */
  idle(): boolean {
    return this.merge?.idle() ?? true;
  }

  /** The rate limits', budgets', merge queue's and conflicts' state now. */
  summary(): CoordinationSummary {
    return {
      rateLimits: this.gates.rates.state(this.deps.now()),
      budgets: this.gates.budgets.state(),
      merge: this.merge?.summary() ?? null,
      conflicts: this.conflicts.current(),
    };
  }

  async close(): Promise<void> {
    await this.merge?.close();
  }

  private follow(name: keyof SupervisorEvents, payload: unknown): void {
    const { taskId } = payload as { taskId: string };
    switch (name) {
      case 'coord:complete': {
        this.gates.ended(taskId);
        this.conflicts.completed(taskId, (payload as SupervisorEvents['coord:complete']).commit);
        const merge = this.merge;
        if (merge !== null) this.deps.tracker.run(`queueing ${taskId} for merging`, this.deps.store.get(taskId).then((task) => task && merge.completed(task)));
        return;
      }
      case 'coord:failed':
      case 'coord:released':
        this.gates.ended(taskId);
        return;
      case 'coord:cancelled':
        this.gates.ended(taskId);
        this.deps.unhold(taskId);
        return;
      case 'coord:dead':
      case 'coord:blocked':
        this.deps.unhold(taskId);
        return;
      case 'coord:merged':
        this.conflicts.forget(taskId);
        return;
      case 'coord:usage': {
        const usage = payload as SupervisorEvents['coord:usage'];
        this.gates.rates.used(taskId, usage.inputTokens + usage.outputTokens, this.deps.now());
        this.deps.tracker.run(`the spend of ${taskId}`, this.gates.budgets.usage(usage));
        return;
      }
      case 'coord:rate-limited': {
        const limited = payload as SupervisorEvents['coord:rate-limited'];
        if (limited.signal && limited.key !== null) this.gates.rates.signal(limited.key, Date.parse(limited.resetAt), this.deps.now());
        return;
      }
      default:
    }
  }

  /** Posts into an agent task's mailbox and has it delivered. */
  private async post(taskId: string, source: MessageSource, text: string, meta: Record<string, unknown>): Promise<void> {
    await postMessage(this.deps.store, taskId, text, { source, meta, maxBytes: this.deps.config.mailbox.maxMessageBytes, now: this.deps.now() });
    this.deps.posted();
  }

  /** A running task reached its own budget: it is dead with BUDGET_EXCEEDED, and its processes get SIGINT, then the normal kill path. */
  private async stopAtCap(taskId: string, workerId: string, spentUsd: number, capUsd: number): Promise<void> {
    const task = await this.deps.store.get(taskId);
    if (task?.lease == null || (task.status !== 'running' && task.status !== 'assigned')) return;
    const attempt = task.attempts.at(-1)?.attempt ?? task.attempts.length;
    const message = `spent $${spentUsd.toFixed(4)} of its $${capUsd.toFixed(4)} budget (budgets.perTaskUsd)`;
    await this.deps.attemptFailed(workerId, { taskId, lease: task.lease, attempt }, 'BUDGET_EXCEEDED', message);
    this.deps.workers.cancel(workerId, taskId, `budget exceeded: ${message}`, 'SIGINT');
  }
}
