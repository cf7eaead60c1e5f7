/**
 * Recovery at start-up: the tasks this node held when it last stopped (a crash, kill -9) are
 * taken back through the store's `releaseNode` — released to run again (at-least-once), or,
 * once a task's crash-releases reach `maxReleases`, dead with `TASK_KILLS_SUPERVISOR` — and
 * announced on the event bus as any release, death or block is.
 */
import type { Logger } from '../../log/logger.js';
import { plural } from '../../plural.js';
import { CRASH_RELEASE_REASON } from '../../lifecycle/release-budget.js';
import type { TaskStore } from '../../store/task-store.js';
import type { SupervisorEventBus } from '../events.js';

/** Takes back `nodeId`'s in-flight tasks and emits what became of them; resolves with their ids. */
export async function recoverNode(store: TaskStore, nodeId: string, now: number, events: SupervisorEventBus, logger: Logger): Promise<string[]> {
  const taken = await store.releaseNode(nodeId, now);
  if (taken.length === 0) return taken;
  const dead: string[] = [];
  for (const taskId of taken) {
    const record = await store.get(taskId);
    if (record?.status === 'dead' && record.error !== null) {
      dead.push(taskId);
      events.emit('coord:dead', { taskId, error: record.error });
      await emitBlockedBy(store, taskId, events);
    } else {
      events.emit('coord:released', { taskId, reason: CRASH_RELEASE_REASON });
    }
  }
  logger.warn({ tasks: taken }, `recovered ${plural(taken.length, 'task')} in flight at the last stop`);
  if (dead.length > 0) {
    logger.error({ tasks: dead }, `${plural(dead.length, 'task was', 'tasks were')} running at every one of the last supervisor crashes: dead (TASK_KILLS_SUPERVISOR)`);
  }
  return taken;
}

/**
 * Emits `coord:blocked` for every task the death of `rootId` blocked: the store blocked them
 * in the same transaction (breadth first), each with a `DEP_DEAD` error naming `rootId`, so
 * a walk along dependents that follows exactly those finds them, and no task blocked earlier
 * by another death.
 */
async function emitBlockedBy(store: TaskStore, rootId: string, events: SupervisorEventBus): Promise<void> {
  const seen = new Set<string>([rootId]);
  const queue = [...((await store.get(rootId))?.dependents ?? [])];
  for (let head = 0; head < queue.length; head += 1) {
    const id = queue[head] as string;
    if (seen.has(id)) continue;
    seen.add(id);
    const record = await store.get(id);
    const error = record?.error;
    if (record?.status !== 'blocked' || error?.code !== 'DEP_DEAD' || error.details?.['dep'] !== rootId) continue;
    events.emit('coord:blocked', { taskId: id, error });
    queue.push(...record.dependents);
  }
}
