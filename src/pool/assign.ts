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

/**
 * Picks an idle worker able to run `task`, or null when none is (or when the task should wait
 * for a particular worker). A strategy may also `steal`: after a dispatch pass, each worker
 * still idle is offered the tasks the strategy made wait, oldest first.
 */
export interface AssignStrategy {
  (task: TaskRecord, workers: readonly WorkerSlot[]): WorkerSlot | null;
  /** For a task `(task, workers)` left waiting: an idle worker to take it from the worker it waits for, or null. */
  steal?: (task: TaskRecord, workers: readonly WorkerSlot[]) => WorkerSlot | null;
}

/** The strategies the `assignment` option names. */
export const ASSIGNMENTS = ['round-robin', 'capability', 'locality'] as const;
export type Assignment = (typeof ASSIGNMENTS)[number];

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

/**
 * Capability-aware: among the idle workers able to run the task, the least specialised one
 * (fewest capabilities), so a worker with a rare capability stays free for the tasks that
 * need it; ties go round robin.
 */
export function createCapability(): AssignStrategy {
  const tie = createRoundRobin();
  return (task, workers) => {
    const able = workers.filter((w) => w.idle && hasCapabilities(w, task.spec.needs));
    if (able.length === 0) return null;
    const fewest = Math.min(...able.map((w) => w.capabilities.length));
    return tie(task, able.filter((w) => w.capabilities.length === fewest));
  };
}

/** Where a task would rather run: the worker that ran its dependency, and whether that worker can still take work. */
export interface Affinity {
  /** The worker that ran the dependency of `task` that finished last, or null (no dependency ran here). */
  preferred(task: TaskRecord): string | null;
  /** True when `workerId` is in service (it will take its local queue's tasks when it is idle). */
  inService(workerId: string): boolean;
}

/**
 * Locality: a task runs on the worker that ran its dependency — its worktree already holds
 * that commit (a cheap checkout), and its handler threads are warm. A task whose worker is
 * busy waits in that worker's local queue; a worker left idle after a pass steals the oldest
 * of them (work stealing), so locality never leaves a worker idle while work waits. Tasks
 * without a preference go round robin.
 */
export function createLocality(affinity: Affinity): AssignStrategy {
  const others = createRoundRobin();
  const pick: AssignStrategy = (task, workers) => {
    const preferred = affinity.preferred(task);
    if (preferred === null || !affinity.inService(preferred)) return others(task, workers);
    const slot = workers.find((w) => w.workerId === preferred);
    if (slot !== undefined && slot.idle && hasCapabilities(slot, task.spec.needs)) return slot;
    // Its worker cannot run it (no capability): no point waiting for it.
    if (slot !== undefined && !hasCapabilities(slot, task.spec.needs)) return others(task, workers);
    return null;
  };
  pick.steal = (task, workers) => others(task, workers);
  return pick;
}
