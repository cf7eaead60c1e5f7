/**
 * Lease upkeep on timers: this node renews the leases it holds every third of the lease
 * length, and, while it leads the reaping, reaps expired leases of any node every quarter,
 * so a dead holder's task waits 0.67 to 1.25 leases before it can run elsewhere.
 */
import type { Logger } from '../log/logger.js';
import type { Reaped, TaskStore } from '../store/task-store.js';

export interface LeaseUpkeepDeps {
  store(): TaskStore;
  nodeId: string;
  leaseMs: number;
  logger(): Logger;
  now(): number;
  /** Tasks whose expired leases this node just reaped (they are back in the queue). */
  onReaped(reaped: Reaped[]): Promise<void>;
  /** Stops the run on a storage fault (true); other failures are logged and the timers go on. */
  fatal?(error: unknown): boolean;
}

/** Starts the renew and reap timers; returns a function that stops them. */
export function startLeaseUpkeep(deps: LeaseUpkeepDeps): () => void {
  const every = (ms: number, run: () => Promise<void>): NodeJS.Timeout => {
    const failed = (err: unknown): void => {
      if (!deps.fatal?.(err)) deps.logger().error({ err }, 'lease upkeep failed');
    };
    const timer = setInterval(() => void run().catch(failed), Math.max(50, ms));
    timer.unref();
    return timer;
  };
  const renew = async (): Promise<void> => {
    const held = await deps.store().inFlight(deps.nodeId);
    if (held.length > 0) await deps.store().extendLeases(held.map((h) => h.lease), deps.leaseMs, deps.now());
  };
  const reap = async (): Promise<void> => {
    if (!(await deps.store().tryLeadReaper(deps.nodeId))) return;
    const reaped = await deps.store().reapExpired(deps.now());
    if (reaped.length > 0) await deps.onReaped(reaped);
  };
  const timers = [every(deps.leaseMs / 3, renew), every(deps.leaseMs / 4, reap)];
  return () => timers.forEach((timer) => clearInterval(timer));
}
