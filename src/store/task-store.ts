/**
 * The one interface behind which the queue's state lives. Three implementations run the same
 * lifecycle (the plans of src/lifecycle/, through lifecycle-store.ts), each over its own
 * tables, proved by one contract suite (test/store/contract.ts): in-memory (tests,
 * embedding), SQLite (the embedded default: one WAL file in the state directory) and
 * PostgreSQL (several supervisors on several hosts share one queue).
 *
 * Every mutation that concerns an attempt is fenced by its lease: a stale lease changes
 * nothing and answers false/null. Time always comes in as `now` (epoch ms): a store never
 * reads a clock, so tests control time.
 *
 * Every mutation is one transaction, and writes its own lines to the event log in that
 * transaction (see `STORE_EVENT_TYPES` in store-events.ts), so the log never disagrees with
 * the records. Records are snapshots: changing one changes nothing in the store.
 */
import type { NewEvent } from '../lifecycle/events.js';
import type { Completion, Deferral, FailOutcome, Failure, Reaped } from '../lifecycle/outcomes.js';
import type { TaskError, TaskRecord, TaskStatus } from '../lifecycle/task-record.js';
import type { TaskSpec } from '../tasks/spec.js';
import type { LockHolder } from '../locks/file-lock.js';
import type { CoordinationLedger } from './sql-ledger.js';
import type { Mailbox } from '../mailbox/types.js';

export type { Completion, Deferral, FailOutcome, Failure, Reaped, TaskError, TaskRecord, TaskStatus };

/** What a worker slot asks for when it claims. */
export interface ClaimRequest {
  /** The supervisor (host) claiming; recorded on the attempt. */
  nodeId: string;
  workerId: string;
  /** Capabilities of the worker: only tasks whose `needs` are a subset are claimed. */
  capabilities: readonly string[];
  /** Lease length; the claim expires at `now + leaseMs` unless extended. */
  leaseMs: number;
  now: number;
  /** Claim exactly this task (if still ready and servable) rather than the best one. */
  taskId?: string;
}

/** A successful claim: the task is `assigned` to the claimer under `lease`. */
export interface Claim {
  task: TaskRecord;
  attempt: number;
  lease: string;
  expiresAt: number;
}

/** A node held by {@link TaskStore.holdNode}; `release()` lets another supervisor take it. */
export interface NodeHold {
  release(): Promise<void>;
}

/** One line of the append-only event log: an event line (`at`, `type`, `taskId`, `nodeId`, `data`) and its number. */
export interface StoredEvent extends NewEvent {
  id: number;
}

/** The queue's durable state. All methods are safe to call concurrently from one process. */
export interface TaskStore {
  readonly kind: 'memory' | 'sqlite' | 'postgres';
  /** Every agent task's thread, cursors and trigger jobs (src/mailbox/types.ts), in the same store. */
  readonly mailbox: Mailbox;
  /** Budget spend and merge-queue states (src/store/sql-ledger.ts), in the same store. */
  readonly ledger: CoordinationLedger;
  /** Applies migrations; refuses (`STORE_TOO_NEW`) a store written by a newer coord. */
  open(): Promise<void>;
  close(): Promise<void>;
  /**
   * Changes store-wide defaults (a live reconfiguration): `maxAttempts` applies to every task
   * whose spec names none, from its next failure on; `maxRateLimitWaits` from the next
   * deferral on. Nothing stored changes.
   */
  setDefaults(defaults: { maxAttempts?: number; maxRateLimitWaits?: number }): void;
  /**
   * Makes `holder` the one live supervisor of its node for as long as the hold lasts (or
   * the process lives), so that what this node holds in flight after a crash is provably
   * nobody else's: recovery (`releaseNode`) is safe only under a hold. SQLite: the whole
   * file (one supervisor per store file, whatever its node id; an OS lock the kernel drops
   * with the process). PostgreSQL: the node id (a session advisory lock on a dedicated
   * connection; supervisors with other node ids share the queue). Memory: the node id
   * within this instance. Throws `STATE_LOCKED` naming the live holder.
   */
  holdNode(holder: LockHolder): Promise<NodeHold>;

  /**
   * Adds a graph atomically (all or none). Identical re-submission of a known id is a
   * no-op; a different spec under a known id throws `TASK_EXISTS`; graph errors throw as
   * `validateGraph` does (deps may name stored tasks). Resolves with the ids added.
   */
  submit(specs: readonly TaskSpec[], now: number): Promise<string[]>;
  /**
   * Claims the best ready task (priority desc, then submission order) that is due (a
   * deferred task not before its `readyAt`) and whose needs the worker has, or
   * `request.taskId` exactly (if ready, due and servable). Never gives one task to two
   * claimers. Records a new attempt (number = attempts used + 1) with node and worker.
   */
  claim(request: ClaimRequest): Promise<Claim | null>;
  /** Ready tasks due by `now` (retries due promoted first) in dispatch order, without claiming them (at most `limit`). */
  peekReady(now: number, limit: number): Promise<TaskRecord[]>;
  markRunning(taskId: string, lease: string, now: number): Promise<boolean>;
  /** Extends every lease in `leases` that is still current to `now + leaseMs`; resolves with how many. */
  extendLeases(leases: readonly string[], leaseMs: number, now: number): Promise<number>;
  complete(taskId: string, lease: string, completion: Completion): Promise<boolean>;
  /** Records a failed attempt: retry after backoff while attempts remain and it is retryable, else dead (dependents blocked). */
  fail(taskId: string, lease: string, failure: Failure): Promise<FailOutcome | null>;
  /**
   * Returns an assigned/running task to ready without using an attempt (drain, stop, a worker
   * that could not take it). The start stays in the record's `released` with `reason`; an
   * orderly release does not count towards `maxReleases`.
   */
  release(taskId: string, lease: string, now: number, reason: string): Promise<boolean>;
  /**
   * An in-flight attempt met its provider's rate limit: the task goes back to `ready` due at
   * `until` without burning an attempt (the start is kept in `released` with `reason`, its
   * session and usage), and `rateLimitWaits` counts it. When the waits exceed
   * `maxRateLimitWaits` the task is dead with `RATE_LIMITED` instead (dependents blocked).
   * null when the lease is not current.
   *
   * @example
   * await store.defer(id, lease, {
   *   now, until: now + 60_000, reason: 'rate limited: claude',
   *   error: { code: 'RATE_LIMITED', message: 'usage limit reached' }, session, usage,
   * }); // { status: 'ready', retryAt: now + 60_000, blocked: [] }
   */
  defer(taskId: string, lease: string, deferral: Deferral): Promise<FailOutcome | null>;
  /**
   * Takes back every in-flight task `nodeId` holds (a supervisor restarting after a crash),
   * each as a crash-release: no attempt burnt, the start kept in `released` with reason
   * `supervisor restarted`, and counted. A task whose crash-releases reach `maxReleases` is
   * dead with `TASK_KILLS_SUPERVISOR` instead of ready (dependents blocked, as for any dead
   * task). Resolves with the ids taken back, the dead ones included.
   */
  releaseNode(nodeId: string, now: number): Promise<string[]>;
  /**
   * Fails every in-flight task whose lease expired with `LEASE_EXPIRED` (retryable: it counts
   * as an attempt), earliest expiry first. A lease past its expiry stays current until reaped.
   */
  reapExpired(now: number): Promise<Reaped[]>;
  /**
   * True while this store instance is the one that should reap expired leases. PostgreSQL: a
   * session-level advisory lock held on a dedicated connection, so when that supervisor dies
   * (or its connection drops) the lock goes with it and the next caller takes over; calling
   * again while leading stays true. SQLite and memory: always true (reaping is fenced, so
   * several reapers are merely redundant).
   */
  tryLeadReaper(nodeId: string): Promise<boolean>;
  /** Blocks a task that is not terminal (and its dependents); resolves with the ids changed. */
  block(taskId: string, error: TaskError, now: number): Promise<string[]>;
  /** Cancels a task that is not terminal (dependents blocked); resolves with the ids changed. */
  cancel(taskId: string, now: number): Promise<string[]>;
  /**
   * Puts a dead task back to ready with a fresh attempt budget, and its blocked dependents
   * back to pending/ready; resolves with the ids changed (empty when the task is not dead).
   * The history stays: `attempts` keeps every attempt and `attemptBase` says how many of them
   * no longer count; the dead-letter entry (`error`, `exitCode`, `finishedAt`) is cleared.
   */
  redrive(taskId: string, now: number): Promise<string[]>;

  /**
   * A finished agent task runs again to take a message (the mailbox): a complete task goes
   * back to `ready` with a fresh attempt budget and its commit kept (dependents not yet
   * started wait for the new run); a dead task is redriven. Resolves with the ids changed
   * (empty in any other status).
   */
  reopen(taskId: string, reason: string, now: number): Promise<string[]>;
  /**
   * Lifts a loop safeguard's block (`LOOP_NO_PROGRESS`, `LOOP_REPEATED_FINDING`): the task is
   * complete again, and `task.overridden` logs the operator's `reason`. False in any other status.
   */
  override(taskId: string, reason: string, now: number): Promise<boolean>;

  get(taskId: string): Promise<TaskRecord | undefined>;
  /** Every task in submission order. */
  list(): Promise<TaskRecord[]>;
  counts(): Promise<Record<TaskStatus, number>>;
  /** True when no task is pending, ready, failed-awaiting-retry, assigned or running. */
  isSettled(): Promise<boolean>;
  /** Assigned or running tasks (all nodes when `nodeId` is omitted). */
  inFlight(nodeId?: string): Promise<Array<{ taskId: string; lease: string; nodeId: string; workerId: string; expiresAt: number }>>;
  /** Ms until the next retry backoff, rate-limit wait or lease expiry is due (0 if due), or null. */
  nextDueMs(now: number): Promise<number | null>;

  appendEvent(event: Omit<StoredEvent, 'id'>): Promise<void>;
  events(afterId: number, limit: number): Promise<StoredEvent[]>;
  /** The last `limit` events of the log, oldest first (one indexed read, whatever the log's length). */
  latestEvents(limit: number): Promise<StoredEvent[]>;
  /**
   * Calls `listener` when another store instance (usually another process) changed the queue;
   * returns an unsubscribe. PostgreSQL: LISTEN/NOTIFY on a dedicated connection, reconnected
   * on error (with one call after reconnecting, since notifications may have been missed).
   * SQLite: `PRAGMA data_version` polled while someone listens. Memory: never (nobody else
   * shares it).
   */
  onChange(listener: () => void): () => void;
}
