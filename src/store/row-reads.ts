/**
 * The reads the lifecycle's operations make (see lifecycle-store.ts), inside the operation's
 * transaction: what a plan needs, and nothing it does not. Each store answers them from its
 * own tables — SQLite and memory synchronously ({@link RowReads}), PostgreSQL asynchronously
 * ({@link AsyncRowReads}) — so an operation reads the same rows, in the same order, whatever
 * holds them.
 *
 * PostgreSQL locks what it reads for a decision (`FOR UPDATE`; claims and promotions
 * `SKIP LOCKED`, so concurrent claimers pass over each other's rows); SQLite's write
 * transactions are serialised, and memory's run to their end without interleaving.
 */
import type { Subgraph, TaskRow, TaskRows } from '../lifecycle/rows.js';
import type { TaskRecord } from '../lifecycle/task-record.js';

/** The reads, as the synchronous stores answer them. */
export interface RowReads {
  /**
   * The stored tasks among `ids` (a submission's ids and their dependencies). PostgreSQL:
   * serialises submissions first (seq order, and two submitting one new id at once), and
   * holds the rows `FOR SHARE`, so a dependency completing or dying concurrently waits for
   * this submission or this one for it.
   */
  named(ids: readonly string[]): TaskRow[];
  /** The highest `seq` given so far (0 for an empty store). */
  lastSeq(): number;
  /** The task `id` with its attempts, or undefined. */
  task(id: string): TaskRows | undefined;
  /** The task `id` with its attempts if it is in flight under `lease` (see `isLeaseCurrent`), or undefined: a stale report. */
  leased(id: string, lease: string): TaskRows | undefined;
  /** The in-flight tasks holding one of `leases`. */
  holding(leases: readonly string[]): TaskRow[];
  /** The in-flight tasks of `nodeId` with their attempts, in submission order. */
  heldBy(nodeId: string): TaskRows[];
  /** The in-flight tasks whose lease expired by `now` (see `isLeaseExpired`), with their attempts: earliest expiry first, then submission order. */
  expired(now: number): TaskRows[];
  /** The retries due by `now` (`failed`, `readyAt <= now`). */
  due(now: number): TaskRow[];
  /**
   * The best ready task due by `now` (priority desc, then submission order; see
   * `isDispatchable`) whose needs a worker with `capabilities` has, or exactly `taskId` (if
   * ready, due and servable); undefined when none.
   */
  pick(capabilities: readonly string[], taskId: string | undefined, now: number): TaskRow | undefined;
  /** The direct dependents of `id`, in submission order. */
  dependents(id: string): TaskRow[];
  /** What blocking from `ids` walks: every task reachable from them through tasks not terminal, and their edges. */
  blockReach(ids: readonly string[]): Subgraph;
  /** What unblocking after redriving `id` walks: every task downstream of it, the rows of their dependencies, and their edges. */
  unblockReach(id: string): Subgraph;
  /** The record of `id` (a claim answers with it). */
  record(id: string): TaskRecord | undefined;
  /** At most `limit` records of ready tasks due by `now`, best first. */
  ready(now: number, limit: number): TaskRecord[];
}

/** The name of a read. */
export type ReadName = keyof RowReads;

/** The reads, as the asynchronous stores answer them. */
export type AsyncRowReads = {
  [K in ReadName]: (...args: Parameters<RowReads[K]>) => Promise<ReturnType<RowReads[K]>>;
};
