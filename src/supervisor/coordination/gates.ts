/**
 * What dispatch asks before it claims a ready task, besides the breakers: the budgets (a
 * cap reached in the task's scope), the declared files (a running task's overlap), then the
 * shared rate limit (which takes a start, so it is asked last, for the slot already chosen).
 * Each refusal is a {@link Hold}: the task stays ready, and dispatch says so once per hold.
 */
import type { TaskSpec } from '../../tasks/spec.js';
import type { BudgetDesk } from './budgets.js';
import type { FileClaims } from './files.js';
import type { Hold, RateDesk } from './rates.js';

export type { Hold } from './rates.js';

export class Gates {
  constructor(
    readonly rates: RateDesk,
    readonly budgets: BudgetDesk,
    readonly files: FileClaims,
  ) {}

  /** True when the worker may take new tasks (its budget not spent). */
  workerOpen(workerId: string): boolean {
    return this.budgets.workerOpen(workerId);
  }

  /** Why `spec` may not start now, asking nothing that takes a share; null when it may. */
  check(spec: TaskSpec): Hold | null {
    return this.budgets.check(spec.id, null) ?? this.files.check(spec);
  }

  /** Takes what the start needs (a rate-limit start, the declared files); a hold when it must wait. */
  acquire(spec: TaskSpec, now: number): Hold | null {
    const hold = this.rates.acquire(spec, now);
    if (hold === null) this.files.claimed(spec);
    return hold;
  }

  /** The attempt of `taskId` ended (or its claim did not happen): what it held is free. */
  ended(taskId: string): void {
    this.rates.ended(taskId);
    this.files.ended(taskId);
    this.budgets.ended(taskId);
  }

  /** The shared rate limit `spec`'s attempts start under (null: none applies). */
  rateKey(spec: TaskSpec): string | null {
    return this.rates.keyFor(spec);
  }

  /** When time alone lifts a hold (a rate window, a cooldown), in ms; null when none will. */
  nextChangeMs(now: number): number | null {
    return this.rates.nextChangeMs(now);
  }
}
