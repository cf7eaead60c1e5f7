/**
 * Budget accounting: spend per scope (the whole store, each worker, each task) against the
 * config's caps, as limits rather than a dashboard. Pure: spend comes in with {@link
 * BudgetBook.add} (from `coord:usage`, already made durable by the caller) or from the store
 * at start ({@link BudgetBook.load}); what it answers is which scope stops a new start and
 * which thresholds were just crossed.
 *
 * Scopes are strings: `global`, `worker:<id>`, `task:<id>`.
 */

/** The config's `budgets` (USD; each cap optional). */
export interface Budgets {
  globalUsd?: number | undefined;
  perWorkerUsd?: number | undefined;
  perTaskUsd?: number | undefined;
  /** The share of a cap at which a warning is given once (default 0.8). */
  warnAt?: number | undefined;
}

export type BudgetScope = 'global' | `worker:${string}` | `task:${string}`;

/** What an addition crossed: warnings (once per scope) and caps. */
export interface BudgetCrossing {
  warned: Array<{ scope: BudgetScope; spentUsd: number; capUsd: number }>;
  exceeded: Array<{ scope: BudgetScope; spentUsd: number; capUsd: number }>;
}

/** A scope's state, for status and the summary. */
export interface BudgetScopeState {
  scope: BudgetScope;
  spentUsd: number;
  capUsd: number | null;
  warned: boolean;
  exceeded: boolean;
}

export const taskScope = (taskId: string): BudgetScope => `task:${taskId}`;
export const workerScope = (workerId: string): BudgetScope => `worker:${workerId}`;

export class BudgetBook {
  private budgets: Budgets;
  private readonly spent = new Map<BudgetScope, number>();
  private readonly warned = new Set<BudgetScope>();

  constructor(budgets: Budgets = {}) {
    this.budgets = budgets;
  }

  /** True when any cap is set. */
  get active(): boolean {
    const { globalUsd, perWorkerUsd, perTaskUsd } = this.budgets;
    return globalUsd !== undefined || perWorkerUsd !== undefined || perTaskUsd !== undefined;
  }

  /**
   * New caps (a config reload, the API). Returns the scopes that were stopped and are not
   * any more: their held tasks may start. A scope already past a new warning threshold is
   * not warned again.
   */
  configure(budgets: Budgets): BudgetScope[] {
    const before = [...this.spent.keys()].filter((scope) => this.isExceeded(scope));
    this.budgets = budgets;
    for (const scope of this.spent.keys()) if (this.pastWarning(scope)) this.warned.add(scope);
    return before.filter((scope) => !this.isExceeded(scope));
  }

  /** The spend recorded in the store (at start): no warning is given again for what was already past it. */
  load(spend: Iterable<{ scope: BudgetScope; usd: number }>): void {
    for (const { scope, usd } of spend) {
      this.spent.set(scope, usd);
      if (this.pastWarning(scope)) this.warned.add(scope);
    }
  }

  /** `usd` spent by `taskId` on `workerId`: what thresholds this crossed. */
  add(taskId: string, workerId: string | null, usd: number): BudgetCrossing {
    const crossing: BudgetCrossing = { warned: [], exceeded: [] };
    if (!(usd > 0)) return crossing;
    const scopes: BudgetScope[] = ['global', taskScope(taskId), ...(workerId === null ? [] : [workerScope(workerId)])];
    for (const scope of scopes) {
      const wasExceeded = this.isExceeded(scope);
      this.spent.set(scope, (this.spent.get(scope) ?? 0) + usd);
      const cap = this.capOf(scope);
      if (cap === null) continue;
      const entry = { scope, spentUsd: this.spentOn(scope), capUsd: cap };
      if (!this.warned.has(scope) && this.pastWarning(scope)) {
        this.warned.add(scope);
        crossing.warned.push(entry);
      }
      if (!wasExceeded && this.isExceeded(scope)) crossing.exceeded.push(entry);
    }
    return crossing;
  }

  /** The scope whose cap stops a new start of `taskId` on `workerId` (global first), or null. */
  blocks(taskId: string, workerId: string | null): BudgetScope | null {
    if (this.isExceeded('global')) return 'global';
    if (this.isExceeded(taskScope(taskId))) return taskScope(taskId);
    if (workerId !== null && this.isExceeded(workerScope(workerId))) return workerScope(workerId);
    return null;
  }

  /** True when `scope` has reached its cap. */
  isExceeded(scope: BudgetScope): boolean {
    const cap = this.capOf(scope);
    return cap !== null && this.spentOn(scope) >= cap;
  }

  spentOn(scope: BudgetScope): number {
    return this.spent.get(scope) ?? 0;
  }

  capOf(scope: BudgetScope): number | null {
    if (scope === 'global') return this.budgets.globalUsd ?? null;
    if (scope.startsWith('worker:')) return this.budgets.perWorkerUsd ?? null;
    return this.budgets.perTaskUsd ?? null;
  }

  /** Every scope with spend or a cap. */
  state(): BudgetScopeState[] {
    const scopes = new Set<BudgetScope>(this.spent.keys());
    if (this.budgets.globalUsd !== undefined) scopes.add('global');
    return [...scopes].sort().map((scope) => ({
      scope, spentUsd: this.spentOn(scope), capUsd: this.capOf(scope), warned: this.warned.has(scope), exceeded: this.isExceeded(scope),
    }));
  }

  private pastWarning(scope: BudgetScope): boolean {
    const cap = this.capOf(scope);
    return cap !== null && this.spentOn(scope) >= cap * (this.budgets.warnAt ?? 0.8);
  }
}
