/**
 * The task lifecycle on PostgreSQL: each method is the body of one transaction (the store
 * runs it through `inTransaction`), applying the in-memory queue's rules through the shared
 * pure pieces (submission plan, retry decision, graph walks, event builders). Each body locks
 * the rows it decides on before reading them (`FOR UPDATE`, claims `SKIP LOCKED`), and ends by
 * appending its events and, when the queue changed, a NOTIFY delivered at commit.
 */
import type { PoolClient } from 'pg';
import { CoordError } from '../errors.js';
import { normalizeNeeds } from '../queue/capabilities.js';
import { depDeadError } from '../queue/dependents.js';
import { blockOrder, unblockOrder } from '../queue/graph-walk.js';
import { leaseExpiredFailure } from '../queue/leases.js';
import { CRASH_RELEASE_REASON, crashReleaseVerdict, killsSupervisorError } from '../queue/release-budget.js';
import { decideRetry } from '../queue/retry-decision.js';
import { TERMINAL_STATUSES, isoTime, type TaskStatus } from '../queue/task-record.js';
import type { TaskSpec } from '../tasks/spec.js';
import { loadBlockView, loadUnblockView } from './postgres-graph.js';
import { decodePgTask, type PgInFlightRow, type PgTaskRow } from './postgres-rows.js';
import type { PostgresSql } from './postgres-sql.js';
import type { ResolvedStoreOptions } from './store-options.js';
import { storeEvents, type NewEvent } from './store-events.js';
import { namedIds, planSubmission, type KnownTask } from './submit-plan.js';
import type { ClaimRequest, Completion, FailOutcome, Failure, Reaped, TaskError } from './task-store.js';
import { jsonOrNull, parseTaskStatus } from './task-rows.js';

/** Where NOTIFYs go and who sends them (so an instance can ignore its own). */
export interface NotifyTarget {
  channel: string;
  instanceId: string;
}

/** The lifecycle rules over one schema's statements. */
export class PostgresLifecycle {
  constructor(
    private readonly sql: PostgresSql,
    private readonly options: ResolvedStoreOptions,
    private readonly schema: string,
    private readonly target: NotifyTarget,
  ) {}

  async submit(c: PoolClient, specs: readonly TaskSpec[], now: number): Promise<string[]> {
    // Submissions are serialised (seq order, and two submitting the same new id at once).
    await c.query(this.sql.submitLock, [`coord-submit:${this.schema}`]);
    const known = new Map<string, KnownTask>();
    for (const row of (await c.query<{ id: string; spec: TaskSpec; status: string }>(this.sql.knownTasks, [namedIds(specs)])).rows) {
      known.set(row.id, { spec: row.spec, status: parseTaskStatus(row.status, row.id) });
    }
    const plan = planSubmission(specs, known);
    if (plan.length === 0) return [];
    const firstSeq = Number((await c.query<{ seq: string }>(this.sql.maxSeq)).rows[0]?.seq ?? 0) + 1;
    const at = isoTime(now);
    await c.query(this.sql.insertTasks, [
      plan.map((t) => t.spec.id),
      plan.map((_, i) => firstSeq + i),
      plan.map((t) => JSON.stringify(t.spec)),
      plan.map((t) => t.spec.priority),
      plan.map((t) => JSON.stringify(normalizeNeeds(t.spec.needs))),
      plan.map((t) => t.status),
      plan.map((t) => t.unmetDeps),
      plan.map((t) => jsonOrNull(t.error)),
      plan.map((t) => (t.status === 'blocked' ? at : null)),
    ]);
    const edges = plan.flatMap((t) => t.deps.map((dep) => [t.spec.id, dep] as const));
    if (edges.length > 0) await c.query(this.sql.insertDeps, [edges.map((e) => e[0]), edges.map((e) => e[1])]);
    const events = plan.map((t) => storeEvents.submitted(t.spec.id, now));
    for (const t of plan) if (t.error !== null) events.push(storeEvents.blocked(t.spec.id, t.error, now));
    await this.write(c, events, true);
    return plan.map((t) => t.spec.id);
  }

  async claim(c: PoolClient, request: ClaimRequest, lease: string, expiresAt: number): Promise<{ taskId: string; attempt: number } | null> {
    const { nodeId, workerId, now, taskId } = request;
    await c.query(this.sql.relaxCommit);
    await c.query(this.sql.promoteDue, [now]);
    const caps = normalizeNeeds(request.capabilities);
    const params: unknown[] = [caps, lease, expiresAt, workerId, nodeId];
    const statement = taskId === undefined ? this.sql.claimBest : this.sql.claimExact;
    if (taskId !== undefined) params.push(taskId);
    const row = (await c.query<{ id: string; attempt_count: number }>(statement, params)).rows[0];
    if (row === undefined) return null;
    const attempt = row.attempt_count;
    await c.query(this.sql.insertAttempt, [row.id, attempt, nodeId, workerId, lease, isoTime(now)]);
    await this.write(c, [storeEvents.claimed(row.id, nodeId, workerId, attempt, expiresAt, now)], false);
    return { taskId: row.id, attempt };
  }

  async markRunning(c: PoolClient, id: string, lease: string, now: number): Promise<boolean> {
    const row = await this.fenced(c, id, lease);
    if (row?.status !== 'assigned') return false;
    await c.query(this.sql.relaxCommit);
    const at = isoTime(now);
    await c.query(this.sql.markRunning, [id, at]);
    await c.query(this.sql.startAttempt, [id, row.attempt_count, at]);
    await this.write(c, [storeEvents.started(id, row.node, row.attempt_count, now)], false);
    return true;
  }

  async extendLeases(c: PoolClient, leases: readonly string[], expiresAt: number): Promise<number> {
    await c.query(this.sql.relaxCommit);
    return (await c.query(this.sql.extendLeases, [[...new Set(leases)], expiresAt])).rowCount ?? 0;
  }

  async complete(c: PoolClient, id: string, lease: string, completion: Completion): Promise<boolean> {
    const row = await this.fenced(c, id, lease);
    if (row === undefined) return false;
    const at = isoTime(completion.now);
    const { exitCode } = completion;
    await c.query(this.sql.closeAttempt, [id, row.attempt_count, at, exitCode, null, null]);
    await c.query(this.sql.completeTask, [id, at, exitCode, jsonOrNull(completion.result), completion.commit]);
    await c.query(this.sql.unlockDependents, [id]);
    await this.write(c, [storeEvents.completed(id, row.node, row.attempt_count, exitCode, completion.now)], true);
    return true;
  }

  async fail(c: PoolClient, id: string, lease: string, failure: Failure): Promise<FailOutcome | null> {
    const raw = await this.fenced(c, id, lease);
    if (raw === undefined) return null;
    const events: NewEvent[] = [];
    const outcome = await this.failLocked(c, raw, failure, events);
    await this.write(c, events, true);
    return outcome;
  }

  async release(c: PoolClient, id: string, lease: string, now: number, reason: string): Promise<boolean> {
    const row = await this.fenced(c, id, lease);
    if (row === undefined) return false;
    await this.takeBack(c, row, reason, false, now);
    await c.query(this.sql.releaseTask, [id, 0]);
    await this.write(c, [storeEvents.released(id, row.node, row.attempt_count, reason, false, now)], true);
    return true;
  }

  /** As the queue's `releaseNode`: each held task is a crash-release; one that spends the budget goes dead. */
  async releaseNode(c: PoolClient, nodeId: string, now: number): Promise<string[]> {
    const taken: string[] = [];
    const events: NewEvent[] = [];
    for (const held of (await c.query<PgInFlightRow>(this.sql.inFlight, [nodeId])).rows) {
      const row = await this.fenced(c, held.id, held.lease);
      if (row === undefined) continue;
      const { id } = row;
      const verdict = crashReleaseVerdict(row.crash_releases, this.options.maxReleases);
      await this.takeBack(c, row, CRASH_RELEASE_REASON, true, now);
      events.push(storeEvents.released(id, row.node, row.attempt_count, CRASH_RELEASE_REASON, true, now));
      taken.push(id);
      if (!verdict.dead) {
        await c.query(this.sql.releaseTask, [id, 1]);
        continue;
      }
      const error = killsSupervisorError(id, verdict.crashReleases, this.options.maxReleases);
      await c.query(this.sql.releaseDead, [id, JSON.stringify(error), isoTime(now)]);
      events.push(storeEvents.releasedDead(id, row.node, row.attempt_count, error, now));
      await this.blockDependents(c, id, depDeadError(id, 'dead'), now, events);
    }
    await this.write(c, events, taken.length > 0);
    return taken;
  }

  async reapExpired(c: PoolClient, now: number): Promise<Reaped[]> {
    const reaped: Reaped[] = [];
    const events: NewEvent[] = [];
    for (const expired of (await c.query<PgInFlightRow>(this.sql.expired, [now])).rows) {
      const raw = await this.fenced(c, expired.id, expired.lease);
      if (raw === undefined) continue;
      const holder = { node: raw.node, worker: raw.worker, leaseExpiresAt: Number(raw.lease_expires_at ?? now) };
      const outcome = await this.failLocked(c, raw, leaseExpiredFailure(holder, now), events);
      reaped.push({ taskId: raw.id, lease: expired.lease, nodeId: raw.node ?? '', workerId: raw.worker ?? '', outcome });
    }
    await this.write(c, events, reaped.length > 0);
    return reaped;
  }

  async block(c: PoolClient, id: string, error: TaskError, now: number): Promise<string[]> {
    const status = await this.lockStatus(c, id);
    if (status !== 'ready' && status !== 'assigned') return [];
    return this.endWithDependents(c, id, 'blocked', error, now, storeEvents.blocked(id, error, now));
  }

  async cancel(c: PoolClient, id: string, now: number): Promise<string[]> {
    if (TERMINAL_STATUSES.has(await this.lockStatus(c, id))) return [];
    const error = { code: 'TASK_CANCELLED', message: `task "${id}" was cancelled` };
    return this.endWithDependents(c, id, 'cancelled', error, now, storeEvents.cancelled(id, now));
  }

  async redrive(c: PoolClient, id: string, now: number): Promise<string[]> {
    const raw = (await c.query<PgTaskRow>(this.sql.lockTask, [id])).rows[0];
    if (raw === undefined) throw notFound(id);
    if (raw.status !== 'dead') return [];
    await c.query(this.sql.redriveTask, [id]);
    const view = await loadUnblockView(c, this.sql, id);
    const order = unblockOrder(view.dependents(id), view);
    const revived = await this.updated(c, this.sql.reviveTasks, [order], order);
    const events = [storeEvents.redriven(id, raw.attempt_count, now), ...revived.map((r) => storeEvents.unblocked(r, now))];
    await this.write(c, events, true);
    return [id, ...revived];
  }

  /** Appends `events` and, when `changed`, notifies the other instances at commit. */
  async write(c: PoolClient, events: readonly NewEvent[], changed: boolean): Promise<void> {
    if (events.length === 0 && !changed) return;
    await c.query(this.sql.writeEvents, [
      events.map((e) => e.at),
      events.map((e) => e.type),
      events.map((e) => e.taskId),
      events.map((e) => e.nodeId),
      events.map((e) => JSON.stringify(e.data)),
      this.target.channel,
      this.target.instanceId,
      changed,
    ]);
  }

  private async failLocked(c: PoolClient, raw: PgTaskRow, failure: Failure, events: NewEvent[]): Promise<FailOutcome> {
    const row = decodePgTask(raw);
    const { id } = row;
    const { code, message, exitCode, now } = failure;
    await c.query(this.sql.closeAttempt, [id, row.attemptCount, isoTime(now), exitCode, code, message]);
    const error = JSON.stringify(failure.details === undefined ? { code, message } : { code, message, details: failure.details });
    const decision = decideRetry({
      attemptsCounted: row.attemptCount - row.attemptBase,
      maxAttempts: row.spec.maxAttempts ?? this.options.maxAttempts,
      policy: row.spec.backoff ?? this.options.backoff,
      failure,
      random: this.options.random,
    });
    if (decision.status !== 'dead') {
      await c.query(this.sql.retryTask, [id, decision.status, exitCode, error, decision.readyAt]);
      const outcome: FailOutcome = { status: decision.status, retryAt: decision.readyAt, blocked: [] };
      events.push(storeEvents.failed(id, row.node, row.attemptCount, failure, outcome));
      return outcome;
    }
    await c.query(this.sql.deadTask, [id, exitCode, error, isoTime(now)]);
    const blockedEvents: NewEvent[] = [];
    const blocked = await this.blockDependents(c, id, depDeadError(id, 'dead'), now, blockedEvents);
    const outcome: FailOutcome = { status: 'dead', retryAt: null, blocked };
    events.push(storeEvents.failed(id, row.node, row.attemptCount, failure, outcome), ...blockedEvents);
    return outcome;
  }

  /** Moves the open attempt of `row` (locked) to `releases`; the caller updates the task row. */
  private async takeBack(c: PoolClient, row: PgTaskRow, reason: string, crash: boolean, now: number): Promise<void> {
    await c.query(this.sql.recordRelease, [row.id, row.attempt_count, isoTime(now), reason, crash]);
    await c.query(this.sql.deleteAttempt, [row.id, row.attempt_count]);
  }

  private async endWithDependents(c: PoolClient, id: string, status: TaskStatus, error: TaskError, now: number, first: NewEvent): Promise<string[]> {
    await c.query(this.sql.endTasks, [[id], status, JSON.stringify(error), isoTime(now), error.code, error.message]);
    const events: NewEvent[] = [first];
    const blocked = await this.blockDependents(c, id, depDeadError(id, status), now, events);
    await this.write(c, events, true);
    return [id, ...blocked];
  }

  /** Blocks the dependents of `rootId` (now terminal), breadth first, as the queue does. */
  private async blockDependents(c: PoolClient, rootId: string, error: TaskError, now: number, events: NewEvent[]): Promise<string[]> {
    const view = await loadBlockView(c, this.sql, [rootId]);
    const order = blockOrder(view.dependents(rootId), view);
    if (order.length === 0) return [];
    const params = [order, 'blocked', JSON.stringify(error), isoTime(now), error.code, error.message];
    const blocked = await this.updated(c, this.sql.endTasks, params, order);
    for (const id of blocked) events.push(storeEvents.blocked(id, error, now));
    return blocked;
  }

  /** Runs `text` (which returns the ids it changed) and returns those ids in `order`'s order. */
  private async updated(c: PoolClient, text: string, params: unknown[], order: readonly string[]): Promise<string[]> {
    if (order.length === 0) return [];
    const changed = new Set((await c.query<{ id: string }>(text, params)).rows.map((row) => row.id));
    return order.filter((id) => changed.has(id));
  }

  private async fenced(c: PoolClient, id: string, lease: string): Promise<PgTaskRow | undefined> {
    return (await c.query<PgTaskRow>(this.sql.fenced, [id, lease])).rows[0];
  }

  private async lockStatus(c: PoolClient, id: string): Promise<TaskStatus> {
    const row = (await c.query<PgTaskRow>(this.sql.lockTask, [id])).rows[0];
    if (row === undefined) throw notFound(id);
    return parseTaskStatus(row.status, id);
  }
}

function notFound(id: string): CoordError {
  return new CoordError('TASK_NOT_FOUND', `no task "${id}"`, { details: { taskId: id } });
}
