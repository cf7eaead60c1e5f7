/**
 * Lease upkeep on timers: this node renews the leases it holds every third of the lease
 * length, and, while it leads the reaping, reaps expired leases of any node every quarter,
 * so a dead holder's task waits 0.67 to 1.25 leases before it can run elsewhere.
 */
import type { Reaped, TaskStore } from '../../store/task-store.js';
import type { Tracker } from '../tracker.js';

export interface LeaseUpkeepDeps {
  store: TaskStore;
  nodeId: string;
  leaseMs: number;
  /** Runs each renewal and reaping; a failure is a storage fault (the run stops) or logged, and the timers go on. */
  tracker: Tracker;
  now(): number;
  /** Tasks whose expired leases this node just reaped (they are back in the queue). */
  onReaped(reaped: Reaped[]): Promise<void>;
}

/** Starts the renew and reap timers; returns a function that stops them. */
export function startLeaseUpkeep(deps: LeaseUpkeepDeps): () => void {
  const { store, tracker } = deps;
  const every = (ms: number, what: string, run: () => Promise<void>): NodeJS.Timeout => {
    const timer = setInterval(() => tracker.run(what, run()), Math.max(50, ms));
    timer.unref();
    return timer;
  };
  const renew = async (): Promise<void> => {
    const held = await store.inFlight(deps.nodeId);
    if (held.length > 0) await store.extendLeases(held.map((h) => h.lease), deps.leaseMs, deps.now());
  };
  const reap = async (): Promise<void> => {
    if (!(await store.tryLeadReaper(deps.nodeId))) return;
    const reaped = await store.reapExpired(deps.now());
    if (reaped.length > 0) await deps.onReaped(reaped);
  };
  const timers = [every(deps.leaseMs / 3, 'lease renewal', renew), every(deps.leaseMs / 4, 'lease reaping', reap)];
  return () => timers.forEach((timer) => clearInterval(timer));
}
