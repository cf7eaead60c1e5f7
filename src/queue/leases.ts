/**
 * Lease expiry: an attempt whose holder stopped renewing its lease (a supervisor killed with
 * -9, a host cut off) is failed with `LEASE_EXPIRED`, retryable, so the task runs again
 * elsewhere. Shared by every store backend so the failure reads the same everywhere.
 */
import type { Failure } from './outcomes.js';

/** What is known about the expired attempt's holder. */
export interface ExpiredHolder {
  node: string | null;
  worker: string | null;
  leaseExpiresAt: number;
}

/** The failure recorded for an attempt whose lease expired, reaped at `now`. */
export function leaseExpiredFailure(holder: ExpiredHolder, now: number): Failure {
  const who = `node "${holder.node ?? '?'}" worker "${holder.worker ?? '?'}"`;
  return {
    code: 'LEASE_EXPIRED',
    message: `lease expired: ${who} stopped renewing it`,
    exitCode: null,
    retryable: true,
    now,
    details: { node: holder.node, worker: holder.worker, expiredAt: holder.leaseExpiresAt },
  };
}
