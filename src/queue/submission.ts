/**
 * Submitting tasks: a batch of specs joins the graph all or nothing. Everything that can
 * reject the batch (a different spec under a known id, unknown dependencies, cycles) is
 * checked before the table changes; only then is each new task wired to its dependencies,
 * starting pending, ready, or — when a dependency can already never complete — blocked.
 */
import { CoordError } from '../errors.js';
import type { TaskSpec } from '../tasks/spec.js';
import { validateGraph } from '../tasks/validate-graph.js';
import { blockDependents, wireDependencies } from './dependents.js';
import { isSameSpec } from './same-spec.js';
import type { TaskTable } from './task-table.js';

/** Adds `specs` to `table` as `TaskQueue.submit` describes; returns the ids added. */
export function submitSpecs(table: TaskTable, specs: readonly TaskSpec[], now: number | undefined): string[] {
  const fresh: TaskSpec[] = [];
  for (const spec of specs) {
    const known = table.records.get(spec.id);
    if (known === undefined) fresh.push(spec);
    else if (!isSameSpec(known.spec, spec)) {
      throw new CoordError('TASK_EXISTS', `task "${spec.id}" already exists with a different spec`, {
        details: { taskId: spec.id },
      });
    }
  }
  validateGraph(fresh, table.records);

  // The submission is valid: from here on nothing throws, so mutating is safe.
  const added = fresh.map((spec) => table.insert(spec));
  const deadEnds = added.map((record) => wireDependencies(table, record));
  added.forEach((record, i) => {
    if (record.status !== 'pending') return; // already blocked through an earlier task of this batch
    const deadEnd = deadEnds[i];
    if (deadEnd !== undefined) blockDependents(table, [record.spec.id], deadEnd, now);
    else if (record.unmetDeps === 0) table.setStatus(record, 'ready');
  });
  return added.map((record) => record.spec.id);
}
