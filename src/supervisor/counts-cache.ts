/**
 * Task counts per status, kept fresh from the store after task events, so `status()` and
 * the progress line can read them synchronously without a query each time.
 *
 * Counting is a scan of the whole task table (a `GROUP BY status`), so its cost grows with
 * the graph: ~1 ms at 10,000 tasks, ~15 ms at 100,000 on SQLite. Refreshed after every event
 * at hundreds of events a second, it took 40 % of the supervisor's time at 40,000 tasks. So
 * a refresh follows an event at once when the last one is long past, and otherwise waits
 * until ten times the last refresh's duration has passed since it began: counting never
 * takes more than about a tenth of the time, and counts lag by at most that window (150 ms at
 * 100,000 tasks). `settled()` refreshes them itself before it resolves.
 */
import { performance } from 'node:perf_hooks';
import type { TaskStatus, TaskStore } from '../store/task-store.js';
import type { SupervisorEventBus } from './events.js';

const TASK_EVENTS = [
  'coord:submitted', 'coord:assigned', 'coord:started', 'coord:complete', 'coord:failed', 'coord:dead', 'coord:blocked', 'coord:released', 'coord:redriven', 'coord:cancelled',
] as const;

/** A refresh waits this many times its last duration after the last one began. */
const SPACING = 10;

export class CountsCache {
  private counts: Partial<Record<TaskStatus, number>> = {};
  private queued = false;

  /** `onError` hears a failed background refresh (a storage fault stops the run); the old counts stay. */
  constructor(
    private readonly store: TaskStore,
    private readonly onError: (error: unknown) => void = () => {},
  ) {}

  current(): Partial<Record<TaskStatus, number>> {
    return this.counts;
  }

  async refresh(): Promise<void> {
    this.counts = await this.store.counts();
  }

  /** Refreshes after task events: coalesced, and spaced by ten times what a refresh costs (see above). */
  watch(events: SupervisorEventBus): void {
    let lastStart = 0;
    let lastCost = 0;
    const run = (): void => {
      this.queued = false;
      const started = performance.now();
      lastStart = started;
      void this.refresh().then(() => {
        lastCost = performance.now() - started;
      }, this.onError);
    };
    const later = (): void => {
      if (this.queued) return;
      this.queued = true;
      const wait = lastStart + SPACING * lastCost - performance.now();
      if (wait <= 0) setImmediate(run);
      else setTimeout(run, wait).unref();
    };
    for (const name of TASK_EVENTS) events.on(name, later);
  }
}

/** Resolves once `check()` is true, checking now and after every task event. */
export function whenTrue(check: () => Promise<boolean>, events: SupervisorEventBus): Promise<void> {
  return new Promise((resolve, reject) => {
    let busy = false;
    let again = false;
    const names = [...TASK_EVENTS, 'coord:settled', 'coord:state'] as const;
    const test = (): void => {
      // An event during a check may mean the check read the state just before the change:
      // check again afterwards rather than drop it, or the last change could go unnoticed.
      if (busy) {
        again = true;
        return;
      }
      busy = true;
      again = false;
      check().then(
        (ok) => {
          busy = false;
          if (!ok) {
            if (again) test();
            return;
          }
          for (const name of names) events.off(name, test);
          resolve();
        },
        (error: unknown) => {
          for (const name of names) events.off(name, test);
          reject(error);
        },
      );
    };
    for (const name of names) events.on(name, test);
    test();
  });
}

/** Emits `coord:settled` when no task is left to run. */
export async function emitIfSettled(store: TaskStore, events: SupervisorEventBus): Promise<void> {
  if (await store.isSettled()) events.emit('coord:settled', { counts: await store.counts() });
}
