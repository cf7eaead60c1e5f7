/**
 * The in-memory store: the reference semantics. It is {@link TaskQueue} (records, ready
 * heaps, dependency counters, blocked propagation, retry backoff) plus leases with expiry,
 * the event log and snapshots, behind the {@link TaskStore} interface. Nothing survives the
 * process; use it for tests and for embedding coord where durability does not matter.
 */
import { CoordError } from '../errors.js';
import { CRASH_RELEASE_REASON } from '../queue/release-budget.js';
import { TASK_STATUSES } from '../queue/task-record.js';
import { TaskQueue } from '../queue/task-queue.js';
import type { TaskSpec } from '../tasks/spec.js';
import { describeHolder, type LockHolder } from '../locks/file-lock.js';
import { newLease } from './lease-token.js';
import { resolveStoreOptions, type StoreOptions } from './store-options.js';
import { storeEvents, type NewEvent } from './store-events.js';
import type {
  Claim,
  ClaimRequest,
  Completion,
  FailOutcome,
  Failure,
  NodeHold,
  Reaped,
  StoredEvent,
  TaskError,
  TaskRecord,
  TaskStatus,
  TaskStore,
} from './task-store.js';

type InFlightEntry = Awaited<ReturnType<TaskStore['inFlight']>>[number];

/**
 * A {@link TaskStore} held in this process's memory.
 *
 * @example
 * const store = new MemoryStore({ maxAttempts: 3 });
 * await store.open();
 * await store.submit(specs, Date.now());
 * const claim = await store.claim({ nodeId: 'n1', workerId: 'w1', capabilities: [], leaseMs: 15_000, now: Date.now() });
 */
export class MemoryStore implements TaskStore {
  readonly kind = 'memory';
  private readonly queue: TaskQueue;
  private readonly log: StoredEvent[] = [];
  private readonly nodeHolders = new Map<string, LockHolder>();

  constructor(options: StoreOptions = {}) {
    const { random, maxAttempts, backoff, maxReleases } = resolveStoreOptions(options);
    this.queue = new TaskQueue({ random, maxAttempts, backoff, maxReleases });
  }

  async open(): Promise<void> {}
  async close(): Promise<void> {}

  async holdNode(holder: LockHolder): Promise<NodeHold> {
    const current = this.nodeHolders.get(holder.nodeId);
    if (current !== undefined) {
      throw new CoordError('STATE_LOCKED', `node ${holder.nodeId} of this in-memory store is in use by another supervisor, ${describeHolder(current)}`, {
        details: { holderPid: current.pid, holderNodeId: current.nodeId, holderHost: current.host },
      });
    }
    this.nodeHolders.set(holder.nodeId, holder);
    return { release: async () => void this.nodeHolders.delete(holder.nodeId) };
  }

  async submit(specs: readonly TaskSpec[], now: number): Promise<string[]> {
    const added = this.queue.submit(specs, now);
    for (const id of added) this.write(storeEvents.submitted(id, now));
    for (const id of added) {
      const record = this.record(id);
      if (record.status === 'blocked' && record.error !== null) this.write(storeEvents.blocked(id, record.error, now));
    }
    return added;
  }

  async claim(request: ClaimRequest): Promise<Claim | null> {
    const { nodeId, workerId, capabilities, leaseMs, now, taskId } = request;
    const lease = newLease();
    const expiresAt = now + leaseMs;
    const record = this.queue.claim({ nodeId, workerId, capabilities, lease, expiresAt, now, ...(taskId === undefined ? {} : { taskId }) });
    if (record === undefined) return null;
    const attempt = record.attempts.length;
    this.write(storeEvents.claimed(record.spec.id, nodeId, workerId, attempt, expiresAt, now));
    return { task: snapshot(record), attempt, lease, expiresAt };
  }

  async peekReady(now: number, limit: number): Promise<TaskRecord[]> {
    const ready: TaskRecord[] = [];
    for (const record of this.queue.readyTasks(now)) {
      if (ready.length >= limit) break;
      ready.push(snapshot(record));
    }
    return ready;
  }

  async markRunning(taskId: string, lease: string, now: number): Promise<boolean> {
    const ok = this.queue.markRunning(taskId, lease, now);
    if (ok) {
      const record = this.record(taskId);
      this.write(storeEvents.started(taskId, record.node, record.attempts.length, now));
    }
    return ok;
  }

  async extendLeases(leases: readonly string[], leaseMs: number, now: number): Promise<number> {
    return this.queue.extendLeases(leases, now + leaseMs).length;
  }

  async complete(taskId: string, lease: string, completion: Completion): Promise<boolean> {
    const ok = this.queue.complete(taskId, lease, completion);
    if (ok) {
      const record = this.record(taskId);
      this.write(storeEvents.completed(taskId, record.node, record.attempts.length, completion.exitCode, completion.now));
    }
    return ok;
  }

  async fail(taskId: string, lease: string, failure: Failure): Promise<FailOutcome | null> {
    const node = this.queue.get(taskId)?.node ?? null;
    const outcome = this.queue.fail(taskId, lease, failure);
    if (outcome !== null) this.logFailure(taskId, node, failure, outcome);
    return outcome;
  }

  async release(taskId: string, lease: string, now: number, reason: string): Promise<boolean> {
    const before = this.queue.get(taskId);
    const node = before?.node ?? null;
    const attempt = before?.attempts.length ?? 0;
    const ok = this.queue.release(taskId, lease, now, reason);
    if (ok) this.write(storeEvents.released(taskId, node, attempt, reason, false, now));
    return ok;
  }

  async releaseNode(nodeId: string, now: number): Promise<string[]> {
    const taken = this.queue.releaseNode(nodeId, now);
    for (const { taskId, attempt, dead, blocked } of taken) {
      this.write(storeEvents.released(taskId, nodeId, attempt, CRASH_RELEASE_REASON, true, now));
      const { error } = this.record(taskId);
      if (!dead || error === null) continue;
      this.write(storeEvents.releasedDead(taskId, nodeId, attempt, error, now));
      this.logBlocked(blocked, now);
    }
    return taken.map((t) => t.taskId);
  }

  async reapExpired(now: number): Promise<Reaped[]> {
    return this.queue.reapExpired(now).map((reaped) => {
      const last = this.record(reaped.taskId).attempts.at(-1);
      const failure = { code: last?.code ?? 'LEASE_EXPIRED', message: last?.message ?? '', now };
      this.logFailure(reaped.taskId, reaped.nodeId, failure, reaped.outcome);
      return { ...reaped, nodeId: reaped.nodeId ?? '', workerId: reaped.workerId ?? '' };
    });
  }

  async tryLeadReaper(): Promise<boolean> {
    return true;
  }

  async block(taskId: string, error: TaskError, now: number): Promise<string[]> {
    const changed = this.queue.block(taskId, error, now);
    this.logBlocked(changed, now);
    return changed;
  }

  async cancel(taskId: string, now: number): Promise<string[]> {
    const changed = this.queue.cancel(taskId, now);
    const [first, ...dependents] = changed;
    if (first !== undefined) this.write(storeEvents.cancelled(first, now));
    this.logBlocked(dependents, now);
    return changed;
  }

  async redrive(taskId: string, now: number): Promise<string[]> {
    const changed = this.queue.redrive(taskId);
    const [first, ...revived] = changed;
    if (first !== undefined) this.write(storeEvents.redriven(first, this.record(first).attemptBase, now));
    for (const id of revived) this.write(storeEvents.unblocked(id, now));
    return changed;
  }

  async get(taskId: string): Promise<TaskRecord | undefined> {
    const record = this.queue.get(taskId);
    return record === undefined ? undefined : snapshot(record);
  }

  async list(): Promise<TaskRecord[]> {
    return this.queue.all().map(snapshot);
  }

  async counts(): Promise<Record<TaskStatus, number>> {
    const counts = this.queue.counts();
    return Object.fromEntries(TASK_STATUSES.map((status) => [status, counts[status]])) as Record<TaskStatus, number>;
  }

  async isSettled(): Promise<boolean> {
    return this.queue.isSettled();
  }

  async inFlight(nodeId?: string): Promise<InFlightEntry[]> {
    return this.inFlightRecords()
      .filter((r) => nodeId === undefined || r.node === nodeId)
      .map((r) => ({
        taskId: r.spec.id,
        lease: r.lease ?? '',
        nodeId: r.node ?? '',
        workerId: r.worker ?? '',
        expiresAt: r.leaseExpiresAt ?? Number.MAX_SAFE_INTEGER,
      }));
  }

  async nextDueMs(now: number): Promise<number | null> {
    const retry = this.queue.nextDelayMs(now);
    const expiry = this.queue.nextLeaseExpiry();
    const lease = expiry === null ? null : Math.max(0, expiry - now);
    if (retry === null) return lease;
    return lease === null ? retry : Math.min(retry, lease);
  }

  async appendEvent(event: Omit<StoredEvent, 'id'>): Promise<void> {
    this.write(event);
  }

  async events(afterId: number, limit: number): Promise<StoredEvent[]> {
    // Ids are 1..n in order, so the events after `afterId` start at index `afterId`.
    return this.log.slice(Math.max(0, afterId), Math.max(0, afterId) + limit).map((e) => structuredClone(e));
  }

  onChange(): () => void {
    // Nobody else shares this store, so nobody else changes it.
    return () => {};
  }

  /** In-flight records in submission order (as the SQL stores list them). */
  private inFlightRecords(): TaskRecord[] {
    return this.queue
      .inFlight()
      .map((id) => this.record(id))
      .sort((a, b) => a.seq - b.seq);
  }

  private logFailure(taskId: string, node: string | null, failure: Pick<Failure, 'code' | 'message' | 'now'>, outcome: FailOutcome): void {
    const attempt = this.record(taskId).attempts.length;
    this.write(storeEvents.failed(taskId, node, attempt, failure, outcome));
    this.logBlocked(outcome.blocked, failure.now);
  }

  private logBlocked(ids: readonly string[], now: number): void {
    for (const id of ids) {
      const error = this.record(id).error;
      if (error !== null) this.write(storeEvents.blocked(id, error, now));
    }
  }

  private record(taskId: string): TaskRecord {
    const record = this.queue.get(taskId);
    if (record === undefined) throw new CoordError('INTERNAL', `memory store lost task "${taskId}"`);
    return record;
  }

  private write(event: NewEvent): void {
    this.log.push({ ...structuredClone(event), id: this.log.length + 1 });
  }
}

/** A deep copy: the queue's records are live views. */
function snapshot(record: TaskRecord): TaskRecord {
  return structuredClone(record);
}
