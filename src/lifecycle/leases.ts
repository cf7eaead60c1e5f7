/**
 * Leases: the fencing token of an attempt, its expiry, and its renewal. An attempt whose
 * holder stopped renewing its lease (a supervisor killed with -9, a host cut off) is failed
 * with `LEASE_EXPIRED`, retryable, so the task runs again elsewhere.
 */
import { Draft, type Plan } from './draft.js';
import type { Failure } from './outcomes.js';
import type { TaskRow } from './rows.js';
import { IN_FLIGHT_STATUSES } from './task-record.js';

/**
 * True when `lease` is the fencing token of the task's current attempt. A result carrying any
 * other lease comes from an attempt the supervisor has given up on (a worker presumed dead, a
 * drained or cancelled task) and must change nothing. Stores read in-flight tasks by lease
 * with this rule (SQL: `lease = ? AND status IN ('assigned', 'running')`).
 */
export function isLeaseCurrent(row: Pick<TaskRow, 'status' | 'lease'>, lease: string): boolean {
  return IN_FLIGHT_STATUSES.has(row.status) && row.lease !== null && row.lease === lease;
}

/** True when the task is in flight under a lease that expired at or before `now` (it stays current until reaped). */
export function isLeaseExpired(row: Pick<TaskRow, 'status' | 'lease' | 'leaseExpiresAt'>, now: number): boolean {
  return row.lease !== null && isLeaseCurrent(row, row.lease) && row.leaseExpiresAt !== null && row.leaseExpiresAt <= now;
}

/** The failure recorded for the attempt of `holder` whose lease expired, reaped at `now`. */
export function leaseExpiredFailure(holder: Pick<TaskRow, 'node' | 'worker' | 'leaseExpiresAt'>, now: number): Failure {
  const who = `node "${holder.node ?? '?'}" worker "${holder.worker ?? '?'}"`;
  return {
    code: 'LEASE_EXPIRED',
    message: `lease expired: ${who} stopped renewing it`,
    exitCode: null,
    retryable: true,
    now,
    details: { node: holder.node, worker: holder.worker, expiredAt: holder.leaseExpiresAt ?? now },
  };
}

/**
 * A heartbeat: every task of `rows` still in flight under one of `leases` expires at
 * `expiresAt` now. Answers how many. Not logged (heartbeats would drown the log), and safe to
 * lose in a crash (the next heartbeat renews again).
 */
export function planExtendLeases(rows: readonly TaskRow[], leases: readonly string[], expiresAt: number): Plan<number> {
  const wanted = new Set(leases);
  const draft = new Draft();
  let extended = 0;
  for (const row of rows) {
    if (row.lease === null || !wanted.has(row.lease) || !isLeaseCurrent(row, row.lease)) continue;
    draft.update(row, { leaseExpiresAt: expiresAt });
    extended += 1;
  }
  return draft.plan(extended, { relaxed: true });
}
