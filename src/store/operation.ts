/**
 * An operation: what one store call reads, which plan decides, and what it writes, written
 * once for every store as a generator that yields its reads and its plans' changes, and run
 * by a store inside one of its transactions — synchronously ({@link runSync}: SQLite, whose
 * transactions cannot wait, and memory) or asynchronously ({@link runAsync}: PostgreSQL).
 *
 * @example
 * function* markRunning(taskId: string, lease: string, now: number): Operation<boolean> {
 *   const rows = yield* read('leased', taskId, lease);
 *   return rows === undefined ? false : yield* write(planStart(rows, now));
 * }
 */
import type { Plan, Writes } from '../lifecycle/draft.js';
import type { NewEvent } from '../lifecycle/events.js';
import type { AsyncRowReads, ReadName, RowReads } from './row-reads.js';

/** What a plan hands the store to apply: its writes and the event lines logged with them. */
export interface Changes {
  readonly writes: Writes;
  readonly events: readonly NewEvent[];
}

/** One step of an operation: a read, or changes to apply before the next step. */
export type Step = { readonly read: ReadName; readonly args: readonly unknown[] } | { readonly apply: Changes };

/** An operation answering `T`. */
export type Operation<T> = Generator<Step, T, unknown>;

/** Reads `name` with `args`; resolves to what the store answered. */
export function* read<K extends ReadName>(name: K, ...args: Parameters<RowReads[K]>): Generator<Step, ReturnType<RowReads[K]>, unknown> {
  // The runners answer a read step with the result of that very read.
  return (yield { read: name, args }) as ReturnType<RowReads[K]>;
}

/** Applies `plan`'s writes and events (later reads see them); returns its answer. */
export function* write<T>(plan: Plan<T>): Generator<Step, T, unknown> {
  yield { apply: { writes: plan.writes, events: plan.events } };
  return plan.answer;
}

/** Runs `operation` to its end against synchronous reads; `apply` writes each plan's changes. */
export function runSync<T>(operation: Operation<T>, reads: RowReads, apply: (changes: Changes) => void): T {
  for (let step = operation.next(); ; ) {
    if (step.done === true) return step.value;
    const current = step.value;
    if ('apply' in current) {
      apply(current.apply);
      step = operation.next();
    } else {
      step = operation.next((reads[current.read] as (...args: unknown[]) => unknown).apply(reads, [...current.args]));
    }
  }
}

/** Runs `operation` to its end against asynchronous reads; `apply` writes each plan's changes. */
export async function runAsync<T>(operation: Operation<T>, reads: AsyncRowReads, apply: (changes: Changes) => Promise<void>): Promise<T> {
  for (let step = operation.next(); ; ) {
    if (step.done === true) return step.value;
    const current = step.value;
    if ('apply' in current) {
      await apply(current.apply);
      step = operation.next();
    } else {
      step = operation.next(await (reads[current.read] as (...args: unknown[]) => Promise<unknown>).apply(reads, [...current.args]));
    }
  }
}
