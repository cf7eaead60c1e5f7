/**
 * A pool's readiness (`GET /pools/{id}/status`), from its own workers' states and the
 * capacity handoff files announce. Pure: {@link PoolReadiness.update} is given what is there
 * now and says which pools changed their verdict, keeping since when each verdict holds.
 */
import type { Pool } from './layout.js';

/** The `GET /pools/{id}/status` object (its fields are a contract). */
export interface PoolStatus {
  id: string;
  /** At least `minReady` workers (coord's own and announced ones) are ready. */
  ready: boolean;
  workers: { total: number; ready: number; busy: number };
  capabilities: string[];
  /** When `ready` last changed (the start, if it never did). */
  since: string;
}

/** One of coord's own workers: its pool and its state (`idle`, `busy`, `spawning`, …, or `setup`, `setup-failed`). */
export interface OwnWorkerState {
  pool: string;
  state: string;
}

/** Capacity a handoff file announces: alive while its process is. */
export interface AnnouncedWorker {
  pool: string;
  ready: boolean;
  alive: boolean;
}

/** Own worker states that take tasks. */
const SERVING = new Set(['idle', 'busy']);

export class PoolReadiness {
  private readonly statuses = new Map<string, PoolStatus>();

  constructor(private readonly pools: readonly Pool[], now: number) {
    const since = new Date(now).toISOString();
    for (const pool of pools) {
      this.statuses.set(pool.id, { id: pool.id, ready: false, workers: { total: 0, ready: 0, busy: 0 }, capabilities: [...pool.capabilities], since });
    }
  }

  /** Counts again from what is there now; returns the pools whose `ready` flipped. */
  update(own: readonly OwnWorkerState[], announced: readonly AnnouncedWorker[], now: number): PoolStatus[] {
    const flipped: PoolStatus[] = [];
    for (const pool of this.pools) {
      const mine = own.filter((w) => w.pool === pool.id);
      const theirs = announced.filter((w) => w.pool === pool.id && w.alive);
      const workers = {
        total: mine.length + theirs.length,
        ready: mine.filter((w) => SERVING.has(w.state)).length + theirs.filter((w) => w.ready).length,
        busy: mine.filter((w) => w.state === 'busy').length,
      };
      const before = this.statuses.get(pool.id) as PoolStatus;
      const ready = workers.ready >= pool.minReady;
      const next = { ...before, workers, ready, since: ready === before.ready ? before.since : new Date(now).toISOString() };
      this.statuses.set(pool.id, next);
      if (ready !== before.ready) flipped.push(next);
    }
    return flipped;
  }

  /** Every pool's status, in declaration order. */
  all(): PoolStatus[] {
    return [...this.statuses.values()].map((status) => ({ ...status, workers: { ...status.workers }, capabilities: [...status.capabilities] }));
  }

  /** One pool's status, or undefined for a pool that is not declared. */
  get(id: string): PoolStatus | undefined {
    return this.all().find((status) => status.id === id);
  }
}
