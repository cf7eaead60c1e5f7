/**
 * What a submission does, worked out before anything is written, for the SQL stores: which
 * specs are new, each new task's distinct dependencies, unmet count and first status. The
 * rules are those of `TaskQueue.submit` (the reference), applied to the stored tasks the
 * submission names, so the store can then write the whole plan in one transaction.
 */
import { CoordError } from '../errors.js';
import { depDeadError } from '../queue/dependents.js';
import { DEAD_END_STATUSES, blockOrder } from '../queue/graph-walk.js';
import { isSameSpec } from '../queue/same-spec.js';
import type { TaskError, TaskStatus } from '../queue/task-record.js';
import type { TaskSpec } from '../tasks/spec.js';
import { validateGraph } from '../tasks/validate-graph.js';

/** A stored task the submission names (by id or as a dependency). */
export interface KnownTask {
  spec: TaskSpec;
  status: TaskStatus;
}

/** One new task, ready to insert. */
export interface PlannedTask {
  spec: TaskSpec;
  /** Distinct dependencies, in first-mention order. */
  deps: string[];
  unmetDeps: number;
  status: 'pending' | 'ready' | 'blocked';
  error: TaskError | null;
}

/** Every id a submission may read: its tasks' ids and their dependencies. */
export function namedIds(specs: readonly TaskSpec[]): string[] {
  const ids = new Set<string>();
  for (const spec of specs) {
    ids.add(spec.id);
    for (const dep of spec.deps) ids.add(dep);
  }
  return [...ids];
}

/**
 * Plans `specs` over `known` (the stored tasks among {@link namedIds}). Throws as
 * `TaskQueue.submit` does: `TASK_EXISTS` for a different spec under a stored id, graph
 * errors from `validateGraph`. Returns the new tasks in submission order.
 */
export function planSubmission(specs: readonly TaskSpec[], known: ReadonlyMap<string, KnownTask>): PlannedTask[] {
  const fresh: TaskSpec[] = [];
  for (const spec of specs) {
    const stored = known.get(spec.id);
    if (stored === undefined) fresh.push(spec);
    else if (!isSameSpec(stored.spec, spec)) {
      throw new CoordError('TASK_EXISTS', `task "${spec.id}" already exists with a different spec`, {
        details: { taskId: spec.id },
      });
    }
  }
  validateGraph(fresh, known);

  const planned = new Map<string, PlannedTask>();
  const dependentsInBatch = new Map<string, string[]>();
  const deadEnds = new Map<string, { id: string; status: TaskStatus }>();
  for (const spec of fresh) {
    const task: PlannedTask = { spec, deps: [...new Set(spec.deps)], unmetDeps: 0, status: 'pending', error: null };
    for (const depId of task.deps) {
      const stored = known.get(depId);
      if (stored === undefined) {
        // A task of this batch: new, so not complete.
        task.unmetDeps += 1;
        const list = dependentsInBatch.get(depId) ?? [];
        list.push(spec.id);
        dependentsInBatch.set(depId, list);
        continue;
      }
      if (stored.status === 'complete') continue;
      task.unmetDeps += 1;
      if (!deadEnds.has(spec.id) && DEAD_END_STATUSES.has(stored.status)) deadEnds.set(spec.id, { id: depId, status: stored.status });
    }
    planned.set(spec.id, task);
  }

  const view = {
    status: (id: string): TaskStatus => planned.get(id)?.status ?? 'complete',
    dependents: (id: string): readonly string[] => dependentsInBatch.get(id) ?? [],
  };
  for (const task of planned.values()) {
    if (task.status !== 'pending') continue; // blocked through an earlier task of this batch
    const deadEnd = deadEnds.get(task.spec.id);
    if (deadEnd !== undefined) {
      const error = depDeadError(deadEnd.id, deadEnd.status);
      for (const id of blockOrder([task.spec.id], view)) {
        const blocked = planned.get(id) as PlannedTask;
        blocked.status = 'blocked';
        blocked.error = error;
      }
    } else if (task.unmetDeps === 0) task.status = 'ready';
  }
  return [...planned.values()];
}
