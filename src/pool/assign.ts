/**
 * Assignment strategies: which worker gets a ready task. A strategy is a small pure-ish
 * function in the spirit of piscina's balancer, `(task, workers) => worker | null`; the
 * dispatcher owns the loop, the queue and the leases.
 */
import type { TaskRecord } from '../lifecycle/task-record.js';
import type { TaskSpec } from '../tasks/spec.js';

/** What a strategy sees of a worker. */
export interface WorkerSlot {
  readonly workerId: string;
  readonly capabilities: readonly string[];
  /** True when the worker can take a task now. */
  readonly idle: boolean;
}

/** Picks an idle worker able to run `task`, or null when none is. */
export type AssignStrategy = (task: TaskRecord, workers: readonly WorkerSlot[]) => WorkerSlot | null;

/** True when `worker` has every capability in `needs`. */
export function hasCapabilities(worker: Pick<WorkerSlot, 'capabilities'>, needs: readonly string[]): boolean {
  return needs.every((need) => worker.capabilities.includes(need));
}

/**
 * Round robin among capable idle workers: the search starts just after the worker picked
 * last time, so work spreads evenly instead of piling onto the first worker in the list.
 * The cursor remembers the worker's id, not its index, so workers joining or leaving the
 * list (restarts) do not shift it onto the wrong worker; if the last pick has left, the
 * search starts from the top.
 *
 * @example
 * const pick = createRoundRobin();
 * pick(task, [{ workerId: 'w1', capabilities: [], idle: true }]); // w1
 */
export function createRoundRobin(): AssignStrategy {
  let lastPicked: string | null = null;
  return (task, workers) => {
    const count = workers.length;
    if (count === 0) return null;
    const lastIndex = lastPicked === null ? -1 : workers.findIndex((w) => w.workerId === lastPicked);
    for (let step = 1; step <= count; step++) {
      const worker = workers[(lastIndex + step) % count] as WorkerSlot;
      if (worker.idle && hasCapabilities(worker, task.spec.needs)) {
        lastPicked = worker.workerId;
        return worker;
      }
    }
    return null;
  };
}

/**
 * True when some worker in the pool (idle or not) has every capability `spec` needs. A task
 * no worker could ever run would wait forever; the supervisor checks this at submission and
 * rejects the task (`TASK_UNSATISFIABLE`) instead.
 */
export function canEverRun(spec: Pick<TaskSpec, 'needs'>, workers: readonly Pick<WorkerSlot, 'capabilities'>[]): boolean {
  return workers.some((worker) => hasCapabilities(worker, spec.needs));
}
