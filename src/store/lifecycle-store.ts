/**
 * The task lifecycle as every store runs it: each mutation of {@link TaskStore} is one
 * operation (see operation.ts) — the rows it reads, the plan from `src/lifecycle/` that
 * decides, the changes it writes — run by the store in one transaction. A store supplies the
 * transaction and its tables (reads and writes); the rules, and which rows they need, are
 * here and in the plans, once.
 */
import { planBlock, planCancel, isBlockable, isCancellable } from '../lifecycle/block.js';
import { planClaim, planPromotions } from '../lifecycle/claim.js';
import { planComplete } from '../lifecycle/complete.js';
import { isDyingOnDeferral, planDefer } from '../lifecycle/defer.js';
import type { NewEvent } from '../lifecycle/events.js';
import { planAppend } from '../lifecycle/draft.js';
import { planFail } from '../lifecycle/fail.js';
import { leaseExpiredFailure, planExtendLeases } from '../lifecycle/leases.js';
import { planReap } from '../lifecycle/reap.js';
import { isRedrivable, planRedrive } from '../lifecycle/redrive.js';
import { isOverridable, isReopenable, planOverride, planReopen } from '../lifecycle/reopen.js';
import { dyingOnCrashRelease, planRelease, planReleaseNode } from '../lifecycle/release.js';
import { retryDecision } from '../lifecycle/retry-decision.js';
import { NO_SUBGRAPH, type TaskRows } from '../lifecycle/rows.js';
import { planStart } from '../lifecycle/start.js';
import { namedIds, planSubmit } from '../lifecycle/submit.js';
import { taskNotFound } from '../lifecycle/task-record.js';
import type { TaskSpec } from '../tasks/spec.js';
import { newLease } from './lease-token.js';
import { read, write, type Operation } from './operation.js';
import type { ResolvedStoreOptions } from './store-options.js';
import { storeReadOnly } from './store-state.js';
import type { Claim, ClaimRequest, Completion, Deferral, FailOutcome, Failure, Reaped, TaskError, TaskRecord, TaskStore } from './task-store.js';

/** The mutations every store runs the same way. */
type Mutations = 'setDefaults' | 'submit' | 'claim' | 'peekReady' | 'markRunning' | 'extendLeases' | 'complete' | 'fail' | 'release'
  | 'defer' | 'releaseNode' | 'reapExpired' | 'block' | 'cancel' | 'redrive' | 'reopen' | 'override' | 'appendEvent';

/** Retries whose backoff has passed become ready first, so that a claim or a peek sees them. */
function* promoteDue(now: number): Operation<void> {
  const due = yield* read('due', now);
  if (due.length > 0) yield* write(planPromotions(due, now));
}

/** The task `id` with its attempts, or `TASK_NOT_FOUND`. */
function* existing(id: string): Operation<TaskRows> {
  const rows = yield* read('task', id);
  if (rows === undefined) throw taskNotFound(id);
  return rows;
}

/**
 * The {@link TaskStore} mutations over a store's transaction and tables.
 *
 * @example
 * class MyStore extends LifecycleStore {
 *   protected async perform<T>(operation: () => Operation<T>): Promise<T> {
 *     return this.db.transaction(() => runSync(operation(), this.reads, (changes) => this.apply(changes)));
 *   }
 * }
 */
export abstract class LifecycleStore implements Pick<TaskStore, Mutations> {
  protected constructor(protected options: ResolvedStoreOptions) {}

  setDefaults(defaults: { maxAttempts?: number; maxRateLimitWaits?: number }): void {
    const { maxAttempts, maxRateLimitWaits } = defaults;
    if (maxAttempts !== undefined) this.options = { ...this.options, maxAttempts };
    if (maxRateLimitWaits !== undefined) this.options = { ...this.options, maxRateLimitWaits };
  }

  /**
   * Runs `operation` in one write transaction: a fresh generator per call, so a transaction
   * retried from the start (PostgreSQL, on a deadlock) plans again from what it reads then.
   */
  protected abstract perform<T>(operation: () => Operation<T>): Promise<T>;

  /** `perform`, unless the store was opened read-only. */
  private mutate<T>(operation: () => Operation<T>): Promise<T> {
    return this.options.readOnly ? Promise.reject(storeReadOnly(this.constructor.name)) : this.perform(operation);
  }

  submit(specs: readonly TaskSpec[], now: number): Promise<string[]> {
    return this.mutate(function* () {
      const known = yield* read('named', namedIds(specs));
      const lastSeq = yield* read('lastSeq');
      return yield* write(planSubmit(known, { specs, now, lastSeq }));
    });
  }

  claim(request: ClaimRequest): Promise<Claim | null> {
    const { nodeId, workerId, capabilities, now, taskId } = request;
    const lease = newLease();
    const expiresAt = now + request.leaseMs;
    return this.mutate(function* () {
      yield* promoteDue(now);
      const row = yield* read('pick', capabilities, taskId, now);
      if (row === undefined) return null;
      const attempt = yield* write(planClaim(row, { nodeId, workerId, capabilities, lease, expiresAt, now }));
      const task = attempt === null ? undefined : yield* read('record', row.id);
      return attempt === null || task === undefined ? null : { task, attempt, lease, expiresAt };
    });
  }

  peekReady(now: number, limit: number): Promise<TaskRecord[]> {
    return this.mutate(function* () {
      yield* promoteDue(now);
      return yield* read('ready', now, Math.max(0, limit));
    });
  }

  markRunning(taskId: string, lease: string, now: number): Promise<boolean> {
    return this.mutate(function* () {
      const rows = yield* read('leased', taskId, lease);
      return rows === undefined ? false : yield* write(planStart(rows, now));
    });
  }

  extendLeases(leases: readonly string[], leaseMs: number, now: number): Promise<number> {
    const wanted = [...new Set(leases)];
    if (wanted.length === 0) return Promise.resolve(0);
    return this.mutate(function* () {
      const rows = yield* read('holding', wanted);
      return yield* write(planExtendLeases(rows, wanted, now + leaseMs));
    });
  }

  complete(taskId: string, lease: string, completion: Completion): Promise<boolean> {
    return this.mutate(function* () {
      const rows = yield* read('leased', taskId, lease);
      if (rows === undefined) return false;
      const dependents = yield* read('dependents', taskId);
      return yield* write(planComplete(rows, dependents, completion));
    });
  }

  fail(taskId: string, lease: string, failure: Failure): Promise<FailOutcome | null> {
    const { options } = this;
    return this.mutate(function* () {
      const rows = yield* read('leased', taskId, lease);
      if (rows === undefined) return null;
      // Decided before planning: only a death needs what the task blocks read.
      const decision = retryDecision(rows.task, failure, options);
      const graph = decision.status === 'dead' ? yield* read('blockReach', [taskId]) : NO_SUBGRAPH;
      return yield* write(planFail(rows, graph, failure, decision));
    });
  }

  release(taskId: string, lease: string, now: number, reason: string): Promise<boolean> {
    return this.mutate(function* () {
      const rows = yield* read('leased', taskId, lease);
      return rows === undefined ? false : yield* write(planRelease(rows, now, reason));
    });
  }

  defer(taskId: string, lease: string, deferral: Deferral): Promise<FailOutcome | null> {
    const { maxRateLimitWaits } = this.options;
    return this.mutate(function* () {
      const rows = yield* read('leased', taskId, lease);
      if (rows === undefined) return null;
      const graph = isDyingOnDeferral(rows.task, maxRateLimitWaits) ? yield* read('blockReach', [taskId]) : NO_SUBGRAPH;
      return yield* write(planDefer(rows, graph, deferral, maxRateLimitWaits));
    });
  }

  releaseNode(nodeId: string, now: number): Promise<string[]> {
    const { maxReleases } = this.options;
    return this.mutate(function* () {
      const held = yield* read('heldBy', nodeId);
      const dying = dyingOnCrashRelease(held, maxReleases);
      const graph = dying.length === 0 ? NO_SUBGRAPH : yield* read('blockReach', dying);
      return yield* write(planReleaseNode({ held, maxReleases, now }, graph));
    });
  }

  reapExpired(now: number): Promise<Reaped[]> {
    const { options } = this;
    return this.mutate(function* () {
      const expiries = (yield* read('expired', now)).map((rows) => {
        const failure = leaseExpiredFailure(rows.task, now);
        // In expiry order, one draw of `random` per retry: the same jitter on every store.
        return { rows, failure, decision: retryDecision(rows.task, failure, options) };
      });
      const dead = expiries.filter((expiry) => expiry.decision.status === 'dead').map((expiry) => expiry.rows.task.id);
      const graph = dead.length === 0 ? NO_SUBGRAPH : yield* read('blockReach', dead);
      return yield* write(planReap(expiries, graph));
    });
  }

  block(taskId: string, error: TaskError, now: number): Promise<string[]> {
    return this.mutate(function* () {
      const rows = yield* existing(taskId);
      const graph = isBlockable(rows.task) ? yield* read('blockReach', [taskId]) : NO_SUBGRAPH;
      return yield* write(planBlock(rows, graph, error, now));
    });
  }

  cancel(taskId: string, now: number): Promise<string[]> {
    return this.mutate(function* () {
      const rows = yield* existing(taskId);
      const graph = isCancellable(rows.task) ? yield* read('blockReach', [taskId]) : NO_SUBGRAPH;
      return yield* write(planCancel(rows, graph, now));
    });
  }

  redrive(taskId: string, now: number): Promise<string[]> {
    return this.mutate(function* () {
      const { task } = yield* existing(taskId);
      const graph = isRedrivable(task) ? yield* read('unblockReach', taskId) : NO_SUBGRAPH;
      return yield* write(planRedrive(task, graph, now));
    });
  }

  reopen(taskId: string, reason: string, now: number): Promise<string[]> {
    return this.mutate(function* () {
      const { task } = yield* existing(taskId);
      if (isRedrivable(task)) return yield* write(planRedrive(task, yield* read('unblockReach', taskId), now));
      const dependents = isReopenable(task) ? yield* read('dependents', taskId) : [];
      return yield* write(planReopen(task, dependents, reason, now));
    });
  }

  override(taskId: string, reason: string, now: number): Promise<boolean> {
    return this.mutate(function* () {
      const { task } = yield* existing(taskId);
      return isOverridable(task) ? yield* write(planOverride(task, reason, now)) : false;
    });
  }

  appendEvent(event: NewEvent): Promise<void> {
    return this.mutate(function* () {
      yield* write(planAppend(event));
    });
  }
}
