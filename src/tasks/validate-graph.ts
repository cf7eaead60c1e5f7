/**
 * Graph checks for a submission: unique ids, known dependencies, no cycles. A submission is
 * accepted whole or not at all, so these run before anything is queued.
 *
 * Everything is iterative and linear in tasks + edges: a 100k-task chain is an ordinary
 * input (a generated pipeline), and a recursive DFS would overflow the stack on it.
 */
import { CoordError } from '../errors.js';
import type { TaskSpec } from './spec.js';

/** Anything that can say whether a task id is already known (e.g. the queue). */
export interface TaskIdLookup {
  has(id: string): boolean;
}

/** The part of a spec the graph checks read. */
export type GraphNode = Pick<TaskSpec, 'id' | 'deps'>;

/**
 * Throws a {@link CoordError} when `specs` do not form a valid graph on top of `existing`:
 * - `TASK_DUPLICATE_ID` when two specs share an id (details: `taskId`, `index`, `firstIndex`);
 * - `TASK_CYCLE` when a task depends on itself or on a task that (transitively) depends on
 *   it; the message names the cycle as `a -> b -> c -> a`, read "a depends on b"
 *   (details: `cycle` ids, `taskId`/`index`/`depIndex` of the edge that closes it);
 * - `TASK_UNKNOWN_DEP` when a dependency is neither in `specs` nor in `existing`
 *   (details: `taskId`, `dep`, `index`, `depIndex`).
 *
 * `index` is the position in `specs` and `depIndex` the position in that task's `deps`, so a
 * file loader can point at the offending line. Tasks in `existing` were validated when they
 * were submitted and cannot depend on new tasks, so they can never be part of a new cycle.
 *
 * @example
 * validateGraph([{ id: 'a', deps: ['b'] }, { id: 'b', deps: ['a'] }]);
 * // throws TASK_CYCLE: task dependency cycle: a -> b -> a
 */
export function validateGraph(specs: readonly GraphNode[], existing?: TaskIdLookup): void {
  const indexOf = indexIds(specs);
  checkDeps(specs, indexOf, existing);
  checkCycles(specs, indexOf);
}

function indexIds(specs: readonly GraphNode[]): Map<string, number> {
  const indexOf = new Map<string, number>();
  specs.forEach((spec, index) => {
    const firstIndex = indexOf.get(spec.id);
    if (firstIndex !== undefined) {
      throw new CoordError('TASK_DUPLICATE_ID', `duplicate task id "${spec.id}" (tasks[${firstIndex}] and tasks[${index}])`, {
        details: { taskId: spec.id, index, firstIndex },
      });
    }
    indexOf.set(spec.id, index);
  });
  return indexOf;
}

function checkDeps(specs: readonly GraphNode[], indexOf: Map<string, number>, existing?: TaskIdLookup): void {
  specs.forEach((spec, index) => {
    spec.deps.forEach((dep, depIndex) => {
      if (dep === spec.id) {
        throw new CoordError('TASK_CYCLE', `task dependency cycle: task "${dep}" depends on itself: ${dep} -> ${dep}`, {
          details: { cycle: [dep, dep], taskId: dep, index, depIndex },
        });
      }
      if (!indexOf.has(dep) && existing?.has(dep) !== true) {
        throw new CoordError('TASK_UNKNOWN_DEP', `task "${spec.id}" depends on unknown task "${dep}"`, {
          details: { taskId: spec.id, dep, index, depIndex },
        });
      }
    });
  });
}

const WHITE = 0;
const ON_PATH = 1;
const DONE = 2;

/** Iterative three-colour DFS along dependency edges; the explicit path is the cycle witness. */
function checkCycles(specs: readonly GraphNode[], indexOf: Map<string, number>): void {
  const colour = new Uint8Array(specs.length);
  const pathNodes: number[] = [];
  const pathNextDep: number[] = [];
  const pathPosition = new Int32Array(specs.length);

  for (let root = 0; root < specs.length; root++) {
    if (colour[root] !== WHITE) continue;
    colour[root] = ON_PATH;
    pathPosition[root] = 0;
    pathNodes.push(root);
    pathNextDep.push(0);

    while (pathNodes.length > 0) {
      const top = pathNodes.length - 1;
      const node = pathNodes[top] as number;
      const depIndex = pathNextDep[top] as number;
      const deps = (specs[node] as GraphNode).deps;
      if (depIndex >= deps.length) {
        colour[node] = DONE;
        pathNodes.pop();
        pathNextDep.pop();
        continue;
      }
      pathNextDep[top] = depIndex + 1;
      const next = indexOf.get(deps[depIndex] as string);
      if (next === undefined || colour[next] === DONE) continue; // an existing task, or explored
      if (colour[next] === ON_PATH) {
        throwCycle(specs, pathNodes.slice(pathPosition[next]), node, depIndex);
      }
      colour[next] = ON_PATH;
      pathPosition[next] = pathNodes.length;
      pathNodes.push(next);
      pathNextDep.push(0);
    }
  }
}

function throwCycle(specs: readonly GraphNode[], cycleNodes: number[], closingNode: number, depIndex: number): never {
  const ids = cycleNodes.map((node) => (specs[node] as GraphNode).id);
  const cycle = [...ids, ids[0] as string];
  const closing = (specs[closingNode] as GraphNode).id;
  throw new CoordError('TASK_CYCLE', `task dependency cycle: ${describeCycle(cycle)}`, {
    details: { cycle, taskId: closing, index: closingNode, depIndex },
  });
}

/** The cycle as `a -> b -> a`; a very long one (a generated graph) is shortened in the middle. */
function describeCycle(cycle: readonly string[]): string {
  if (cycle.length <= 16) return cycle.join(' -> ');
  const head = cycle.slice(0, 8).join(' -> ');
  const tail = cycle.slice(-4).join(' -> ');
  return `${head} -> ... (${cycle.length - 12} more) ... -> ${tail}`;
}
