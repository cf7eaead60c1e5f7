/**
 * Task counts per status, kept fresh from the store after every task event, so `status()`
 * and the progress line can read them synchronously without a query each time.
 */
import type { TaskStatus, TaskStore } from '../store/task-store.js';
import type { SupervisorEventBus } from './events.js';

const TASK_EVENTS = [
  'coord:submitted', 'coord:assigned', 'coord:started', 'coord:complete', 'coord:failed', 'coord:dead', 'coord:blocked', 'coord:released', 'coord:redriven', 'coord:cancelled',
] as const;

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

  /** Refreshes (coalesced) after every task event. */
  watch(events: SupervisorEventBus): void {
    const later = (): void => {
      if (this.queued) return;
      this.queued = true;
      setImmediate(() => {
        this.queued = false;
        void this.refresh().catch(this.onError);
      });
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
