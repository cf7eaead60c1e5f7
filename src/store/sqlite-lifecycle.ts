/**
 * The task lifecycle on SQLite: each method is the body of one transaction (the store wraps
 * it), synchronous, applying the in-memory queue's rules through the shared pure pieces
 * (submission plan, retry decision, graph walks, event builders) to the tables.
 */
import { CoordError } from '../errors.js';
import { normalizeNeeds } from '../queue/capabilities.js';
import { depDeadError } from '../queue/dependents.js';
import { blockOrder, unblockOrder } from '../queue/graph-walk.js';
import { leaseExpiredFailure } from '../queue/leases.js';
import { CRASH_RELEASE_REASON, crashReleaseVerdict, killsSupervisorError } from '../queue/release-budget.js';
import { decideRetry } from '../queue/retry-decision.js';
import { TERMINAL_STATUSES, isoTime, type TaskStatus } from '../queue/task-record.js';
import type { TaskSpec } from '../tasks/spec.js';
import { decodeTask, type RawTaskRow } from './sqlite-rows.js';
import { jsonOrNull, parseTaskStatus } from './task-rows.js';
import type { SqliteStatements } from './sqlite-statements.js';
import type { ResolvedStoreOptions } from './store-options.js';
import { storeEvents, type NewEvent } from './store-events.js';
import { namedIds, planSubmission, type KnownTask } from './submit-plan.js';
import type { ClaimRequest, Completion, FailOutcome, Failure, Reaped, TaskError } from './task-store.js';

/** A claim before the store reads the claimed record back. */
export interface SqliteClaim {
  taskId: string;
  attempt: number;
}

/** The lifecycle rules over one connection's statements. Call inside a transaction. */
export class SqliteLifecycle {
  constructor(
    private readonly stmts: SqliteStatements,
    private readonly options: ResolvedStoreOptions,
  ) {}

  submit(specs: readonly TaskSpec[], now: number): string[] {
    const known = new Map<string, KnownTask>();
    for (const row of this.stmts.knownTasks.all(JSON.stringify(namedIds(specs)))) {
      known.set(row.id, { spec: JSON.parse(row.spec) as TaskSpec, status: parseTaskStatus(row.status, row.id) });
    }
    const plan = planSubmission(specs, known);
    let seq = this.stmts.maxSeq.get() ?? 0;
    const finishedAt = isoTime(now);
    for (const task of plan) {
      const { spec } = task;
      this.stmts.insertTask.run({
        id: spec.id, seq: ++seq, spec: JSON.stringify(spec), priority: spec.priority, needs: JSON.stringify(normalizeNeeds(spec.needs)),
        status: task.status, unmetDeps: task.unmetDeps, error: jsonOrNull(task.error),
        finishedAt: task.status === 'blocked' ? finishedAt : null,
      });
      for (const dep of task.deps) this.stmts.insertDep.run(spec.id, dep);
    }
    for (const task of plan) this.event(storeEvents.submitted(task.spec.id, now));
    for (const task of plan) if (task.error !== null) this.event(storeEvents.blocked(task.spec.id, task.error, now));
    return plan.map((task) => task.spec.id);
  }

  claim(request: ClaimRequest, lease: string, expiresAt: number): SqliteClaim | null {
    const { nodeId, workerId, now, taskId } = request;
    this.stmts.promoteDue.run(now);
    const caps = JSON.stringify(normalizeNeeds(request.capabilities));
    const picked = taskId === undefined ? this.stmts.pickBest.get({ caps }) : this.stmts.pickExact.get({ caps, id: taskId });
    if (picked === undefined) return null;
    const assigned = this.stmts.assign.get({ id: picked.id, lease, expiresAt, worker: workerId, node: nodeId });
    if (assigned === undefined) throw new CoordError('INTERNAL', `task "${picked.id}" vanished while being claimed`);
    const attempt = assigned.attempt_count;
    this.stmts.insertAttempt.run({ id: picked.id, attempt, node: nodeId, worker: workerId, lease, at: isoTime(now) });
    this.event(storeEvents.claimed(picked.id, nodeId, workerId, attempt, expiresAt, now));
    return { taskId: picked.id, attempt };
  }

  markRunning(id: string, lease: string, now: number): boolean {
    const row = this.stmts.fenced.get({ id, lease });
    if (row?.status !== 'assigned') return false;
    const at = isoTime(now);
    this.stmts.markRunning.run({ id, at });
    this.stmts.startAttempt.run({ id, attempt: row.attempt_count, at });
    this.event(storeEvents.started(id, row.node, row.attempt_count, now));
    return true;
  }

  extendLeases(leases: readonly string[], expiresAt: number): number {
    let extended = 0;
    for (const lease of new Set(leases)) extended += this.stmts.extendLease.run({ lease, expiresAt }).changes;
    return extended;
  }

  complete(id: string, lease: string, completion: Completion): boolean {
    const row = this.stmts.fenced.get({ id, lease });
    if (row === undefined) return false;
    const at = isoTime(completion.now);
    const { exitCode } = completion;
    this.stmts.closeAttempt.run({ id, attempt: row.attempt_count, at, exitCode, code: null, message: null });
    this.stmts.completeTask.run({ id, at, exitCode, result: jsonOrNull(completion.result), commit: completion.commit });
    this.stmts.unlockDependents.run(id);
    this.event(storeEvents.completed(id, row.node, row.attempt_count, exitCode, completion.now));
    return true;
  }

  fail(id: string, lease: string, failure: Failure): FailOutcome | null {
    const raw = this.stmts.fenced.get({ id, lease });
    if (raw === undefined) return null;
    const row = decodeTask(raw);
    const { code, message, exitCode, now } = failure;
    this.stmts.closeAttempt.run({ id, attempt: row.attemptCount, at: isoTime(now), exitCode, code, message });
    const error: TaskError = failure.details === undefined ? { code, message } : { code, message, details: failure.details };
    const decision = decideRetry({
      attemptsCounted: row.attemptCount - row.attemptBase,
      maxAttempts: row.spec.maxAttempts ?? this.options.maxAttempts,
      policy: row.spec.backoff ?? this.options.backoff,
      failure,
      random: this.options.random,
    });
    let outcome: FailOutcome;
    if (decision.status !== 'dead') {
      this.stmts.retryTask.run({ id, status: decision.status, exitCode, error: JSON.stringify(error), readyAt: decision.readyAt });
      outcome = { status: decision.status, retryAt: decision.readyAt, blocked: [] };
      this.event(storeEvents.failed(id, row.node, row.attemptCount, failure, outcome));
      return outcome;
    }
    this.stmts.deadTask.run({ id, exitCode, error: JSON.stringify(error), at: isoTime(now) });
    const blocked = this.blockOrder(this.stmts.dependentsOf.all(id));
    outcome = { status: 'dead', retryAt: null, blocked };
    this.event(storeEvents.failed(id, row.node, row.attemptCount, failure, outcome));
    this.applyBlocks(blocked, depDeadError(id, 'dead'), now);
    return outcome;
  }

  release(id: string, lease: string, now: number, reason: string): boolean {
    const row = this.stmts.fenced.get({ id, lease });
    if (row === undefined) return false;
    this.takeBack(row, reason, false, now);
    this.stmts.releaseTask.run({ id, crash: 0 });
    this.event(storeEvents.released(id, row.node, row.attempt_count, reason, false, now));
    return true;
  }

  /** As the queue's `releaseNode`: each held task is a crash-release; one that spends the budget goes dead. */
  releaseNode(nodeId: string, now: number): string[] {
    const taken: string[] = [];
    for (const held of this.stmts.inFlightOf.all(nodeId)) {
      const row = this.stmts.fenced.get({ id: held.id, lease: held.lease });
      if (row === undefined) continue;
      const { id } = row;
      const verdict = crashReleaseVerdict(row.crash_releases, this.options.maxReleases);
      this.takeBack(row, CRASH_RELEASE_REASON, true, now);
      this.event(storeEvents.released(id, row.node, row.attempt_count, CRASH_RELEASE_REASON, true, now));
      taken.push(id);
      if (!verdict.dead) {
        this.stmts.releaseTask.run({ id, crash: 1 });
        continue;
      }
      const error = killsSupervisorError(id, verdict.crashReleases, this.options.maxReleases);
      this.stmts.releaseDead.run({ id, error: JSON.stringify(error), at: isoTime(now) });
      this.event(storeEvents.releasedDead(id, row.node, row.attempt_count, error, now));
      this.applyBlocks(this.blockOrder(this.stmts.dependentsOf.all(id)), depDeadError(id, 'dead'), now);
    }
    return taken;
  }

  reapExpired(now: number): Reaped[] {
    const reaped: Reaped[] = [];
    for (const row of this.stmts.expired.all(now)) {
      const failure = leaseExpiredFailure({ node: row.node, worker: row.worker, leaseExpiresAt: row.lease_expires_at ?? now }, now);
      const outcome = this.fail(row.id, row.lease, failure);
      if (outcome === null) continue;
      reaped.push({ taskId: row.id, lease: row.lease, nodeId: row.node ?? '', workerId: row.worker ?? '', outcome });
    }
    return reaped;
  }

  block(id: string, error: TaskError, now: number): string[] {
    const status = this.statusOf(id);
    if (status !== 'ready' && status !== 'assigned') return [];
    this.endTask(id, 'blocked', error, now);
    this.event(storeEvents.blocked(id, error, now));
    const blocked = this.blockOrder(this.stmts.dependentsOf.all(id));
    this.applyBlocks(blocked, depDeadError(id, 'blocked'), now);
    return [id, ...blocked];
  }

  cancel(id: string, now: number): string[] {
    if (TERMINAL_STATUSES.has(this.statusOf(id))) return [];
    this.endTask(id, 'cancelled', { code: 'TASK_CANCELLED', message: `task "${id}" was cancelled` }, now);
    this.event(storeEvents.cancelled(id, now));
    const blocked = this.blockOrder(this.stmts.dependentsOf.all(id));
    this.applyBlocks(blocked, depDeadError(id, 'cancelled'), now);
    return [id, ...blocked];
  }

  redrive(id: string, now: number): string[] {
    const raw = this.stmts.taskById.get(id);
    if (raw === undefined) throw notFound(id);
    if (raw.status !== 'dead') return [];
    this.stmts.redriveTask.run(id);
    this.event(storeEvents.redriven(id, raw.attempt_count, now));
    const revived = unblockOrder(this.stmts.dependentsOf.all(id), {
      status: (taskId) => this.statusOf(taskId),
      errorCode: (taskId) => this.stmts.graphRow.get(taskId)?.error_code ?? null,
      deps: (taskId) => this.stmts.depsOf.all(taskId),
      dependents: (taskId) => this.stmts.dependentsOf.all(taskId),
    });
    for (const taskId of revived) {
      this.stmts.reviveTask.run(taskId);
      this.event(storeEvents.unblocked(taskId, now));
    }
    return [id, ...revived];
  }

  /** Appends `event` (the caller's or the store's own). */
  event(event: NewEvent): void {
    this.stmts.insertEvent.run({ at: event.at, type: event.type, taskId: event.taskId, nodeId: event.nodeId, data: JSON.stringify(event.data) });
  }

  private statusOf(id: string): TaskStatus {
    const row = this.stmts.graphRow.get(id);
    if (row === undefined) throw notFound(id);
    return parseTaskStatus(row.status, id);
  }

  private blockOrder(startIds: readonly string[]): string[] {
    return blockOrder(startIds, { status: (id) => this.statusOf(id), dependents: (id) => this.stmts.dependentsOf.all(id) });
  }

  private applyBlocks(ids: readonly string[], error: TaskError, now: number): void {
    for (const id of ids) {
      this.endTask(id, 'blocked', error, now);
      this.event(storeEvents.blocked(id, error, now));
    }
  }

  /** Moves the open attempt of `row` to `releases` (the task row is updated by the caller). */
  private takeBack(row: RawTaskRow, reason: string, crash: boolean, now: number): void {
    const attempt = row.attempt_count;
    this.stmts.recordRelease.run({ id: row.id, attempt, at: isoTime(now), reason, crash: crash ? 1 : 0 });
    this.stmts.deleteAttempt.run({ id: row.id, attempt });
  }

  /** As the queue's `endTask`: an open attempt is closed with the error and its lease revoked. */
  private endTask(id: string, status: TaskStatus, error: TaskError, now: number): void {
    const raw = this.stmts.taskById.get(id);
    if (raw === undefined) throw notFound(id);
    const at = isoTime(now);
    if (raw.lease !== null) this.stmts.revokeAttempt.run({ id, attempt: raw.attempt_count, at, code: error.code, message: error.message });
    this.stmts.endTask.run({ id, status, error: JSON.stringify(error), at });
  }
}

function notFound(id: string): CoordError {
  return new CoordError('TASK_NOT_FOUND', `no task "${id}"`, { details: { taskId: id } });
}
