/**
 * An assignment strategy that keeps to the pools: before the strategy chooses, the workers
 * whose pool does not take the task (by its agent, see {@link poolAccepts}) are left out.
 */
import type { AssignStrategy, WorkerSlot } from '../pool/assign.js';
import type { TaskRecord } from '../lifecycle/task-record.js';
import { poolAccepts, type Pool } from './layout.js';

/** `strategy`, choosing only among workers whose pool takes the task; `poolOf` names a worker's pool. */
export function withinPools(strategy: AssignStrategy, pools: readonly Pool[], poolOf: (workerId: string) => string | undefined): AssignStrategy {
  const byId = new Map(pools.map((pool) => [pool.id, pool]));
  const fitting = (task: TaskRecord, workers: readonly WorkerSlot[]): WorkerSlot[] =>
    workers.filter((worker) => {
      const pool = byId.get(poolOf(worker.workerId) ?? '');
      return pool !== undefined && poolAccepts(pool, task.spec, pools);
    });
  const chosen: AssignStrategy = (task, workers) => strategy(task, fitting(task, workers));
  if (strategy.steal !== undefined) {
    const steal = strategy.steal;
    chosen.steal = (task, workers) => steal(task, fitting(task, workers));
  }
  return chosen;
}
