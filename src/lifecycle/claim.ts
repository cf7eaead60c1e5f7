/**
 * Dispatch: retries whose backoff has passed become ready, and a worker claims a ready task
 * under a lease. Which ready task is best (priority desc, then submission order) is the
 * store's index to find (SQL `ORDER BY priority DESC, seq`, memory's ready heaps); the plan
 * checks the task is still ready and servable, and opens the attempt.
 */
import { canServeWith } from './capabilities.js';
import { Draft, noChange, type Plan } from './draft.js';
import { storeEvents } from './events.js';
import { isoTime } from './iso-time.js';
import type { TaskRow } from './rows.js';

/**
 * failed → ready for every row of `due` whose backoff has passed by `now`. Not logged (a
 * promotion changes no verdict), and safe to lose: the next claim promotes again.
 */
export function planPromotions(due: readonly TaskRow[], now: number): Plan<void> {
  const draft = new Draft();
  for (const row of due) if (row.status === 'failed' && row.readyAt <= now) draft.update(row, { status: 'ready' });
  return draft.plan(undefined, { relaxed: true });
}

/** Who claims, under which lease, until when. */
export interface ClaimInput {
  /** The supervisor (host) claiming; recorded on the attempt. */
  nodeId: string;
  workerId: string;
  /** Only a task whose `needs` are a subset is claimed. */
  capabilities: readonly string[];
  lease: string;
  /** Epoch ms at which the lease expires unless extended. */
  expiresAt: number;
  now: number;
}

/**
 * True when `row` may be handed out at `now`: ready, and due (a deferred task is ready but
 * waits until its `readyAt`; every other ready task's `readyAt` is 0 or already past).
 * Stores pick and peek with this rule (SQL: `status = 'ready' AND ready_at <= now`).
 */
export function isDispatchable(row: Pick<TaskRow, 'status' | 'readyAt'>, now: number): boolean {
  return row.status === 'ready' && row.readyAt <= now;
}

/**
 * ready → assigned under `input.lease`: opens attempt `attemptCount + 1` with the node and
 * worker. Answers the attempt's number, or null, changing nothing, when `row` is not
 * dispatchable (see {@link isDispatchable}) or the worker cannot serve its needs. Safe to lose in a crash: the task is ready again and the
 * claimer's later reports are fenced off.
 */
export function planClaim(row: TaskRow, input: ClaimInput): Plan<number | null> {
  if (!isDispatchable(row, input.now) || !canServeWith(input.capabilities)(row.spec.needs)) return noChange(null);
  const { nodeId, workerId, lease, expiresAt, now } = input;
  const attempt = row.attemptCount + 1;
  const draft = new Draft();
  draft.update(row, { status: 'assigned', lease, leaseExpiresAt: expiresAt, worker: workerId, node: nodeId, attemptCount: attempt });
  draft.putAttempt({
    taskId: row.id, attempt, node: nodeId, worker: workerId, lease, assignedAt: isoTime(now),
    startedAt: null, finishedAt: null, exitCode: null, code: null, message: null, session: null, usage: null,
  });
  draft.event(storeEvents.claimed(row.id, nodeId, workerId, attempt, expiresAt, now));
  return draft.plan(attempt, { relaxed: true });
}
