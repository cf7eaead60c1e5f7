/**
 * Submitting tasks: a batch of specs joins the graph all or nothing. Everything that can
 * reject the batch (a different spec under a known id, unknown dependencies, cycles) is
 * checked before anything is planned; then each new task starts pending, ready, or — when a
 * dependency can already never complete — blocked, with everything in the batch downstream
 * of it.
 */
import { CoordError } from '../errors.js';
import type { TaskSpec } from '../tasks/spec.js';
import { validateGraph } from '../tasks/validate-graph.js';
import { depDeadError } from './block.js';
import { Draft, type Plan } from './draft.js';
import { storeEvents } from './events.js';
import { DEAD_END_STATUSES, blockOrder } from './graph-walk.js';
import { isoTime } from './iso-time.js';
import { newTaskRow, type TaskRow } from './rows.js';
import { isSameSpec } from './same-spec.js';
import type { TaskStatus } from './task-record.js';

/** Every id a submission may read: its tasks' ids and their dependencies. */
export function namedIds(specs: readonly TaskSpec[]): string[] {
  const ids = new Set<string>();
  for (const spec of specs) {
    ids.add(spec.id);
    for (const dep of spec.deps) ids.add(dep);
  }
  return [...ids];
}

/** What a submission is planned with besides the stored rows. */
export interface SubmitInput {
  specs: readonly TaskSpec[];
  now: number;
  /** The highest `seq` the store has given (0 when empty): new tasks follow it. */
  lastSeq: number;
}

/**
 * Adds `input.specs` over `known` (the stored tasks among {@link namedIds}); answers the ids
 * added, in submission order. Re-submitting a spec identical (canonical JSON) to a stored
 * task is a no-op; a different spec under a stored id throws `TASK_EXISTS`; graph errors
 * throw as in `validateGraph` (dependencies may name stored tasks). A dependency already
 * complete counts as met; one dead, blocked or cancelled blocks the new task at once.
 */
export function planSubmit(known: readonly TaskRow[], input: SubmitInput): Plan<string[]> {
  const stored = new Map(known.map((row) => [row.id, row]));
  const fresh: TaskSpec[] = [];
  for (const spec of input.specs) {
    const row = stored.get(spec.id);
    if (row === undefined) fresh.push(spec);
    else if (!isSameSpec(row.spec, spec)) {
      throw new CoordError('TASK_EXISTS', `task "${spec.id}" already exists with a different spec`, { details: { taskId: spec.id } });
    }
  }
  validateGraph(fresh, stored);

  // The submission is valid: from here on nothing throws.
  const planned = new Map<string, { row: TaskRow; deps: string[] }>();
  const dependentsInBatch = new Map<string, string[]>();
  const deadEnds = new Map<string, { id: string; status: TaskStatus }>();
  for (const [i, spec] of fresh.entries()) {
    const deps = [...new Set(spec.deps)];
    let unmetDeps = 0;
    for (const depId of deps) {
      const dep = stored.get(depId);
      if (dep === undefined) {
        // A task of this batch: new, so not complete.
        unmetDeps += 1;
        const list = dependentsInBatch.get(depId) ?? [];
        list.push(spec.id);
        dependentsInBatch.set(depId, list);
        continue;
      }
      if (dep.status === 'complete') continue;
      unmetDeps += 1;
      if (!deadEnds.has(spec.id) && DEAD_END_STATUSES.has(dep.status)) deadEnds.set(spec.id, { id: depId, status: dep.status });
    }
    planned.set(spec.id, { row: { ...newTaskRow(spec, input.lastSeq + i + 1), unmetDeps }, deps });
  }

  const finishedAt = isoTime(input.now);
  const inBatch = {
    status: (id: string): TaskStatus => planned.get(id)?.row.status ?? 'complete',
    dependents: (id: string): readonly string[] => dependentsInBatch.get(id) ?? [],
  };
  for (const task of planned.values()) {
    if (task.row.status !== 'pending') continue; // blocked through an earlier task of this batch
    const deadEnd = deadEnds.get(task.row.id);
    if (deadEnd !== undefined) {
      const error = depDeadError(deadEnd.id, deadEnd.status);
      for (const id of blockOrder([task.row.id], inBatch)) {
        const blocked = planned.get(id);
        if (blocked !== undefined) blocked.row = { ...blocked.row, status: 'blocked', error, finishedAt };
      }
    } else if (task.row.unmetDeps === 0) task.row = { ...task.row, status: 'ready' };
  }

  const draft = new Draft();
  for (const task of planned.values()) draft.add(task);
  for (const { row } of planned.values()) draft.event(storeEvents.submitted(row.id, input.now));
  for (const { row } of planned.values()) if (row.error !== null) draft.event(storeEvents.blocked(row.id, row.error, input.now));
  return draft.plan([...planned.keys()]);
}
