/**
 * Which worker ran each task this run (from `coord:complete`), for locality assignment: a
 * dependent would rather run on the worker that ran its dependency that finished last. And
 * the strategy the `assignment` option names, built over it.
 */
import { createCapability, createLocality, createRoundRobin, type AssignStrategy, type Assignment } from '../../pool/assign.js';
import type { TaskRecord } from '../../store/task-store.js';
import type { SupervisorEventBus } from '../events.js';

export class Placements {
  private readonly ranOn = new Map<string, { workerId: string; n: number }>();
  private completions = 0;

  /** Follows completions on `events`; returns the unsubscribe. */
  watch(events: SupervisorEventBus): () => void {
    const listener = ({ taskId, workerId }: { taskId: string; workerId: string }): void => {
      this.completions += 1;
      this.ranOn.set(taskId, { workerId, n: this.completions });
    };
    events.on('coord:complete', listener);
    return () => events.off('coord:complete', listener);
  }

  /** The worker that ran the dependency of `task` that completed last here, or null. */
  preferred(task: TaskRecord): string | null {
    let best: { workerId: string; n: number } | undefined;
    for (const dep of task.spec.deps) {
      const ran = this.ranOn.get(dep);
      if (ran !== undefined && (best === undefined || ran.n > best.n)) best = ran;
    }
    return best?.workerId ?? null;
  }
}

/**
 * The strategy for `assignment`; `inService` says whether a worker will take work again. Only
 * locality follows the completions on `events` (for as long as the supervisor lives).
 */
export function strategyFor(assignment: Assignment, events: SupervisorEventBus, inService: (workerId: string) => boolean): AssignStrategy {
  switch (assignment) {
    case 'round-robin':
      return createRoundRobin();
    case 'capability':
      return createCapability();
    case 'locality': {
      const placements = new Placements();
      placements.watch(events);
      return createLocality({ preferred: (task) => placements.preferred(task), inService });
    }
  }
}
