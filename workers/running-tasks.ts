/**
 * The task attempts in flight in this worker, keyed by task id, each with the lease it was
 * assigned under and the AbortController that cancels it. A cancel is honoured only when
 * its lease matches: a stale cancel for an earlier attempt of the same task must not stop
 * the current one.
 */
import type { CancelReason } from './cancel-reason.js';
import type { TaskRef } from './task-outcome.js';

interface Entry {
  ref: TaskRef;
  controller: AbortController;
  done: Promise<void>;
}

/** What {@link RunningTasks.cancel} did. */
export type CancelResult = 'cancelled' | 'not-running' | 'lease-mismatch';

/** The in-flight attempts of one worker. */
export class RunningTasks {
  readonly #entries = new Map<string, Entry>();

  /** How many attempts are in flight. */
  get size(): number {
    return this.#entries.size;
  }

  /** Task ids in flight, for heartbeats. */
  ids(): string[] {
    return [...this.#entries.keys()];
  }

  /** The lease of the attempt of `taskId` in flight, or null. */
  leaseOf(taskId: string): string | null {
    return this.#entries.get(taskId)?.ref.lease ?? null;
  }

  /**
   * Starts `run` for `ref`; the entry is removed when it settles. The caller must refuse a
   * task id that {@link leaseOf} knows already (the worker never runs two attempts of one task).
   */
  start(ref: TaskRef, run: (signal: AbortSignal) => Promise<void>): void {
    if (this.#entries.has(ref.taskId)) throw new Error(`task ${ref.taskId} is already running`);
    const controller = new AbortController();
    const entry: Entry = { ref, controller, done: Promise.resolve() };
    entry.done = run(controller.signal)
      .catch(() => undefined) // `run` reports its own failures; this only keeps `done` settled
      .finally(() => {
        if (this.#entries.get(ref.taskId) === entry) this.#entries.delete(ref.taskId);
      });
    this.#entries.set(ref.taskId, entry);
  }

  /**
   * Cancels the attempt of `taskId` when `lease` is its current lease; its process group gets
   * `graceful` first (the abort's reason carries it: see cancel-reason.ts).
   */
  cancel(taskId: string, lease: string, reason: string, graceful: 'SIGTERM' | 'SIGINT' = 'SIGTERM'): CancelResult {
    const entry = this.#entries.get(taskId);
    if (entry === undefined) return 'not-running';
    if (entry.ref.lease !== lease) return 'lease-mismatch';
    entry.controller.abort({ reason, graceful } satisfies CancelReason);
    return 'cancelled';
  }

  /** Cancels every attempt in flight. */
  cancelAll(reason: string): void {
    for (const entry of this.#entries.values()) entry.controller.abort(reason);
  }

  /** Resolves true when every attempt in flight has settled, false after `timeoutMs`. */
  async settled(timeoutMs: number): Promise<boolean> {
    const pending = [...this.#entries.values()].map((entry) => entry.done);
    if (pending.length === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      return await Promise.race([Promise.all(pending).then(() => true as const), expired]);
    } finally {
      clearTimeout(timer);
    }
  }
}
