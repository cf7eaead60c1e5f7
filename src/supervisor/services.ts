/**
 * Answers to the worker messages that are about neither a task's state nor the worker's
 * life: leave to proceed, rate-limit tokens, conflict checks, and the note that a worker
 * rebuilt its worktree. (What a worker reports about a task goes to the outcome path.)
 * Until a gate (merge queue, budget) or a rate limiter is configured, coord has no reason
 * to hold a worker back, so it grants at once; conflict checks are real `merge-tree`
 * predictions.
 */
import type { Logger } from '../log/logger.js';
import type { ParentMessage, WorkerMessageOf } from '../protocol/messages.js';
import type { TaskStore } from '../store/task-store.js';
import { predictConflicts } from '../worktrees/predict-conflicts.js';

/** The service requests a worker may send. */
export type ServiceRequest = WorkerMessageOf<'coord:request' | 'coord:rate-request' | 'coord:conflict-check' | 'coord:workspace-repaired'>;

export interface ServiceDeps {
  store: TaskStore;
  logger: Logger;
  repoRoot: string;
  /** A worker rebuilt its broken worktree. */
  onWorkspaceRepaired(workerId: string): void;
}

/** Handles one service request from `workerId`; `reply` answers that worker. */
export function handleServiceRequest(deps: ServiceDeps, workerId: string, message: ServiceRequest, reply: (message: ParentMessage) => void): void {
  switch (message.type) {
    case 'coord:workspace-repaired':
      deps.logger.warn({ workerId, worktree: message.worktree, found: message.found }, 'worker rebuilt its broken worktree before a task');
      deps.onWorkspaceRepaired(workerId);
      return;
    case 'coord:request':
      reply({ type: 'coord:proceed', requestId: message.requestId });
      return;
    case 'coord:rate-request':
      reply({ type: 'coord:rate-grant', requestId: message.requestId, key: message.key });
      return;
    case 'coord:conflict-check':
      void checkConflicts(deps, message.requestId, message.taskId).then(reply, (error: unknown) => {
        deps.logger.warn({ workerId, taskId: message.taskId, err: error }, 'conflict check failed');
      });
      return;
  }
}

async function checkConflicts(deps: ServiceDeps, requestId: string, taskId: string): Promise<ParentMessage> {
  const others = (await deps.store.inFlight())
    .filter((held) => held.taskId !== taskId)
    .map((held) => ({ taskId: held.taskId, ref: `coord/${held.taskId}` }));
  const conflicts = await predictConflicts(deps.repoRoot, `coord/${taskId}`, others);
  return { type: 'coord:conflict', requestId, taskId, conflicts };
}
