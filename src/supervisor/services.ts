/**
 * Answers to the worker messages that are not lifecycle events: task start and progress,
 * leave to proceed, rate-limit tokens, usage reports and conflict checks. Until a gate
 * (merge queue, budget) or a rate limiter is configured, coord has no reason to hold a
 * worker back, so it grants at once; conflict checks are real `merge-tree` predictions.
 */
import type { Logger } from '../log/logger.js';
import type { ParentMessage } from '../protocol/messages.js';
import type { TaskStore } from '../store/task-store.js';
import { predictConflicts } from '../worktrees/predict-conflicts.js';
import type { ServiceMessage } from '../pool/run-process.js';
import type { Dispatcher } from './dispatcher.js';

/** Token and cost usage a task reported, summed over its attempts. */
export interface TaskUsage {
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

export interface ServiceDeps {
  dispatcher: Dispatcher;
  store: TaskStore;
  logger: Logger;
  repoRoot(): string;
  usage: Map<string, TaskUsage>;
  /** A worker rebuilt its broken worktree. */
  onWorkspaceRepaired(workerId: string): void;
  /** Stops the run on a storage fault (true); false for anything else. */
  fatal(error: unknown): boolean;
}

/** Handles one parsed service message from `workerId`; `reply` answers that worker. */
export function handleServiceMessage(deps: ServiceDeps, workerId: string, message: ServiceMessage, reply: (message: ParentMessage) => void): void {
  switch (message.type) {
    case 'coord:started':
      deps.dispatcher.started(workerId, message);
      return;
    case 'coord:progress':
      deps.dispatcher.progress(message.taskId);
      deps.logger.debug({ workerId, taskId: message.taskId, outputBytes: message.outputBytes }, 'task progress');
      return;
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
    case 'coord:usage':
      void deps.store.get(message.taskId).then(
        (record) => {
          if (record?.lease === message.lease) addUsage(deps.usage, message);
        },
        (error: unknown) => {
          if (!deps.fatal(error)) deps.logger.warn({ workerId, taskId: message.taskId, err: error }, 'could not record usage');
        },
      );
      return;
    case 'coord:conflict-check':
      void checkConflicts(deps, message.requestId, message.taskId).then(reply, (error: unknown) => {
        deps.logger.warn({ workerId, taskId: message.taskId, err: error }, 'conflict check failed');
      });
      return;
  }
}

function addUsage(usage: Map<string, TaskUsage>, message: { taskId: string; inputTokens: number; outputTokens: number; costUsd: number }): void {
  const sum = usage.get(message.taskId) ?? { inputTokens: 0, outputTokens: 0, costUsd: 0 };
  sum.inputTokens += message.inputTokens;
  sum.outputTokens += message.outputTokens;
  sum.costUsd += message.costUsd;
  usage.set(message.taskId, sum);
}

async function checkConflicts(deps: ServiceDeps, requestId: string, taskId: string): Promise<ParentMessage> {
  const others = (await deps.store.inFlight())
    .filter((held) => held.taskId !== taskId)
    .map((held) => ({ taskId: held.taskId, ref: `coord/${held.taskId}` }));
  const conflicts = await predictConflicts(deps.repoRoot(), `coord/${taskId}`, others);
  return { type: 'coord:conflict', requestId, taskId, conflicts };
}
