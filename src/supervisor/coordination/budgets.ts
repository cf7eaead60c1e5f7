/**
 * Budgets at work in a run: every `coord:usage` adds its spend to the store (durable: a
 * restart does not reset it) and to the book (src/coordination/budget.ts); a threshold
 * crossed says so once (`coord:budget-warning`), a cap reached stops new starts in its scope
 * (the tasks stay ready, held `BUDGET_EXCEEDED`) and says so (`coord:budget-exceeded`), and a
 * running task that crosses its own cap is stopped (`onTaskCap`). Raising a cap releases the
 * held tasks (`configure`).
 *
 * An attempt's spend is what its CLI reported (`costUsd`), or, while the CLI has not said yet,
 * its tokens at the profile's prices, whichever is more: so a per-task cap can stop a task
 * before its final result, and the CLI's own figure, when it comes, is never counted twice.
 */
import { priceOf, resolveProfile, type AgentProfileConfig } from '../../agents/profiles.js';
import { BudgetBook, taskScope, workerScope, type BudgetScope, type BudgetScopeState, type Budgets } from '../../coordination/budget.js';
import type { Logger } from '../../log/logger.js';
import type { TaskStore } from '../../store/task-store.js';
import type { SupervisorEventBus } from '../events.js';
import type { Hold } from './rates.js';

/** One usage report, as the `coord:usage` event has it. */
export interface SpendReport {
  taskId: string;
  workerId: string;
  agent: string | null;
  model: string | null;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  costUsd: number;
}

interface AttemptSpend {
  reported: number;
  priced: number;
  counted: number;
  tokens: { inputTokens: number; outputTokens: number; cacheReadTokens: number; cacheWriteTokens: number };
}

export interface BudgetDeps {
  store: TaskStore;
  events: SupervisorEventBus;
  logger: Logger;
  agents: () => Readonly<Record<string, AgentProfileConfig>>;
  now(): number;
  /** A running task reached its own cap: stop it (it is dead with BUDGET_EXCEEDED). */
  onTaskCap(taskId: string, workerId: string, spentUsd: number, capUsd: number): void;
  /** Caps were raised: held tasks may start. */
  released(): void;
}

export class BudgetDesk {
  private readonly book: BudgetBook;
  private readonly attempts = new Map<string, AttemptSpend>();
  /** Writes to the store, in order (spend adds up; a report never overtakes another). */
  private writes: Promise<unknown> = Promise.resolve();

  constructor(budgets: Budgets | undefined, private readonly deps: BudgetDeps) {
    this.book = new BudgetBook(budgets ?? {});
  }

  /** Reads the spend the store holds (at the run's start). */
  async load(): Promise<void> {
    this.book.load((await this.deps.store.ledger.spend()).map((row) => ({ scope: row.scope as BudgetScope, usd: row.usd })));
  }

  /** New caps; raised ones release their held tasks. */
  configure(budgets: Budgets | undefined): void {
    const released = this.book.configure(budgets ?? {});
    if (released.length > 0) {
      this.deps.logger.info({ scopes: released }, 'budget caps raised: held tasks may start');
      this.deps.released();
    }
  }

  /** Why a new start of `taskId` (on `workerId`, if known) is not allowed now, or null. */
  check(taskId: string, workerId: string | null): Hold | null {
    const scope = this.book.blocks(taskId, workerId);
    return scope === null ? null : { code: 'BUDGET_EXCEEDED', scope: `budget:${scope}` };
  }

  /** True when `workerId` may take new tasks (its own cap not reached). */
  workerOpen(workerId: string): boolean {
    return !this.book.isExceeded(workerScope(workerId));
  }

  /** A usage report of a running attempt (deltas). */
  usage(report: SpendReport): Promise<void> {
    const spend = this.attempts.get(report.taskId) ?? { reported: 0, priced: 0, counted: 0, tokens: { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 } };
    this.attempts.set(report.taskId, spend);
    spend.reported += report.costUsd;
    spend.tokens.inputTokens += report.inputTokens;
    spend.tokens.outputTokens += report.outputTokens;
    spend.tokens.cacheReadTokens += report.cacheReadTokens;
    spend.tokens.cacheWriteTokens += report.cacheWriteTokens;
    if (report.agent !== null) spend.priced = priceOf(resolveProfile(report.agent, this.deps.agents()), report.model, spend.tokens) ?? 0;
    const delta = Math.max(spend.reported, spend.priced) - spend.counted;
    if (!(delta > 0)) return Promise.resolve();
    spend.counted += delta;
    return this.spend(report.taskId, report.workerId, delta);
  }

  /** The attempt of `taskId` ended (its next one starts from nothing). */
  ended(taskId: string): void {
    this.attempts.delete(taskId);
  }

  /** Every scope with spend or a cap. */
  state(): BudgetScopeState[] {
    return this.book.state();
  }

  /** Waits for the spend written so far. */
  flush(): Promise<void> {
    return this.writes.then(() => undefined, () => undefined);
  }

  private spend(taskId: string, workerId: string, usd: number): Promise<void> {
    const { events, logger } = this.deps;
    const crossing = this.book.add(taskId, workerId, usd);
    for (const warned of crossing.warned) {
      logger.warn({ ...warned, taskId }, `budget ${warned.scope}: ${Math.round((warned.spentUsd / warned.capUsd) * 100)} % of its cap spent`);
      events.emit('coord:budget-warning', { scope: warned.scope, spentUsd: warned.spentUsd, capUsd: warned.capUsd, taskId });
    }
    for (const exceeded of crossing.exceeded) {
      logger.warn({ ...exceeded, taskId }, `budget ${exceeded.scope} reached its cap: no new start in it`);
      events.emit('coord:budget-exceeded', { scope: exceeded.scope, spentUsd: exceeded.spentUsd, capUsd: exceeded.capUsd, taskId });
      if (exceeded.scope === taskScope(taskId)) this.deps.onTaskCap(taskId, workerId, exceeded.spentUsd, exceeded.capUsd);
    }
    const scopes = ['global', taskScope(taskId), workerScope(workerId)];
    const write = this.writes.then(() => this.deps.store.ledger.addSpend(scopes, usd, this.deps.now()));
    this.writes = write.catch(() => undefined);
    return write.then(() => undefined);
  }
}
