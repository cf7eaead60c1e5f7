/**
 * The run's pools, with their effects (docs/intake-and-pools.md): each worker of a pool with
 * a `setup` runs it in its worktree before it is spawned (once per worktree; its log under
 * `<state-dir>/logs/setup/`), a failing setup keeps the worker out of service with
 * `SETUP_FAILED`; every worker that says ready writes its handoff file
 * (`<state-dir>/handoff/<workerId>.json`); handoff files others write announce capacity; and
 * each pool's readiness is counted from all of it, with `coord:pool` when it flips.
 */
import os from 'node:os';
import path from 'node:path';
import type { WorkerInput } from '../../../machines/worker.js';
import { CoordError, toCoordError } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import { removeHandoff, watchHandoffs, writeHandoff, type HandoffEntry, type HandoffWatch } from '../../pools/handoff-files.js';
import { DEFAULT_POOL, type Pool, type PoolSlot } from '../../pools/layout.js';
import { PoolReadiness, type OwnWorkerState, type PoolStatus } from '../../pools/readiness.js';
import { ensureWorkerSetup } from '../../pools/worker-setup.js';
import { lockfileIds, type LockfileIds } from '../../pools/setup-stamp.js';
import type { SupervisorEventBus, SupervisorEvents } from '../events.js';
import type { WorkerDescription } from '../worker-registry.js';

export interface PoolDeskDeps {
  pools: readonly Pool[];
  slots: readonly PoolSlot[];
  stateDir: string;
  repo: { root: string; baseCommit: string };
  events: SupervisorEventBus;
  logger: Logger;
  /** coord's own workers as the registry describes them. */
  workers(): WorkerDescription[];
  /** Spawns workers whose setup is done (the coordinator is running). */
  add(workers: WorkerInput[]): void;
  /** Whether workers may still be added (the coordinator is `running`). */
  running(): boolean;
  /** The run cannot go on: no worker of it can ever take a task. */
  fatal(error: CoordError): void;
  /** Delete external handoff files once processed. */
  handoffRemove: boolean;
  now(): number;
}

/** A worker kept out of the coordinator until its setup is done. */
interface PendingWorker {
  input: WorkerInput;
  pool: Pool;
  state: 'setup' | 'setup-failed';
  logFile: string;
  error: CoordError | null;
}

/**
 * The events after which a pool's readiness may have changed. A task starting or ending
 * changes only `busy`, which is counted when a status is read: dispatch pays nothing here.
 */
const WORKER_EVENTS = ['coord:worker-ready', 'coord:worker-exited', 'coord:worker-failed', 'coord:worker-restarting', 'coord:worker-hung', 'coord:worker-cooling', 'coord:workers-scaled'] as const;

export class PoolDesk {
  readonly handoffDir: string;
  private readonly poolById: Map<string, Pool>;
  private readonly poolOfWorker = new Map<string, string>();
  private readonly pending = new Map<string, PendingWorker>();
  private readonly readiness: PoolReadiness;
  private readonly aborts = new AbortController();
  private readonly closers: Array<() => void> = [];
  private readonly warnedPools = new Set<string>();
  private handoffs: HandoffWatch | null = null;
  private writes: Promise<unknown> = Promise.resolve();
  /** The base commit's lock files, read once for every worker's setup. */
  private lockfiles: Promise<LockfileIds> | null = null;
  private closed = false;
  private recountQueued = false;

  constructor(private readonly deps: PoolDeskDeps) {
    this.handoffDir = path.join(deps.stateDir, 'handoff');
    this.poolById = new Map(deps.pools.map((pool) => [pool.id, pool]));
    for (const slot of deps.slots) this.poolOfWorker.set(slot.workerId, slot.pool);
    this.readiness = new PoolReadiness(deps.pools, deps.now());
  }

  /** The pool of one of coord's workers (a worker added by scaling is in `default`). */
  poolOf(workerId: string): string {
    return this.poolOfWorker.get(workerId) ?? DEFAULT_POOL;
  }

  /**
   * Splits the run's workers: those that can be spawned now (no setup) are returned, the
   * others wait for {@link startSetups}. Also starts following the handoff folder.
   */
  async open(workers: readonly WorkerInput[]): Promise<WorkerInput[]> {
    const now: WorkerInput[] = [];
    for (const input of workers) {
      const pool = this.poolById.get(this.poolOf(input.workerId));
      if (pool === undefined || pool.setup.length === 0) now.push(input);
      else this.pending.set(input.workerId, { input, pool, state: 'setup', logFile: this.setupLogOf(input.workerId), error: null });
    }
    for (const name of WORKER_EVENTS) {
      const listener = (payload: SupervisorEvents[typeof name]): void => this.workerEvent(name, payload);
      this.deps.events.on(name, listener);
      this.closers.push(() => this.deps.events.off(name, listener));
    }
    this.handoffs = watchHandoffs({
      dir: this.handoffDir,
      own: (workerId) => this.poolOfWorker.has(workerId) || this.deps.workers().some((w) => w.id === workerId),
      removeProcessed: this.deps.handoffRemove,
      logger: this.deps.logger,
      onChange: () => this.scheduleRecount(),
    });
    await this.handoffs.ready;
    this.recount();
    return now;
  }

  /** Runs every waiting worker's setup, all at once; each is spawned as soon as its own is done. */
  startSetups(): void {
    for (const pending of this.pending.values()) void this.setUp(pending);
  }

  private async setUp(pending: PendingWorker): Promise<void> {
    const { input, pool } = pending;
    const { events, logger } = this.deps;
    events.emit('coord:worker-setup', { workerId: input.workerId, pool: pool.id, status: 'running', logFile: pending.logFile, durationMs: null, error: null });
    try {
      const { root, baseCommit } = this.deps.repo;
      this.lockfiles ??= lockfileIds(root, baseCommit);
      const result = await ensureWorkerSetup({
        workerId: input.workerId, worktree: input.worktree, commands: pool.setup.map((argv) => [...argv]), env: { ...pool.env },
        logFile: pending.logFile, repoRoot: root, baseCommit, lockfiles: await this.lockfiles, signal: this.aborts.signal,
      });
      if (this.closed || !this.deps.running()) return;
      logger.info({ workerId: input.workerId, pool: pool.id, ran: result.ran, reason: result.reason, durationMs: result.durationMs, logFile: result.logFile },
        result.ran ? `set up the worktree of ${input.workerId} (${result.reason})` : `the worktree of ${input.workerId} is set up already`);
      events.emit('coord:worker-setup', { workerId: input.workerId, pool: pool.id, status: result.ran ? 'done' : 'skipped', logFile: result.logFile, durationMs: result.durationMs, error: null });
      this.pending.delete(input.workerId);
      this.deps.add([input]);
    } catch (error) {
      if (this.closed) return;
      const coded = error instanceof CoordError && error.code === 'SETUP_FAILED'
        ? error
        : new CoordError('SETUP_FAILED', `${input.workerId}: setup failed: ${toCoordError(error).message}; its log: ${pending.logFile}`, { details: { workerId: input.workerId, logFile: pending.logFile } });
      pending.state = 'setup-failed';
      pending.error = coded;
      logger.error({ workerId: input.workerId, pool: pool.id, code: coded.code, logFile: pending.logFile, details: coded.details }, coded.message);
      events.emit('coord:worker-setup', { workerId: input.workerId, pool: pool.id, status: 'failed', logFile: pending.logFile, durationMs: null, error: { code: coded.code, message: coded.message, details: coded.details } });
      this.recount();
      this.failIfNoneCanServe(coded);
    }
  }

  /** Every one of coord's workers failed its setup: the run cannot take a task. */
  private failIfNoneCanServe(error: CoordError): void {
    const failed = [...this.pending.values()].filter((p) => p.state === 'setup-failed').length;
    if (failed === this.deps.slots.length && this.deps.workers().length === 0) {
      this.deps.fatal(new CoordError('SETUP_FAILED', `the setup of every worker failed; the first: ${error.message}`, { details: error.details }));
    }
  }

  /** The workers still setting up, or whose setup failed, as `status()` lists workers. */
  waiting(): Array<WorkerDescription & { pool: string; error: { code: string; message: string; logFile: string } | null }> {
    return [...this.pending.values()].map((p) => ({
      id: p.input.workerId, worktree: p.input.worktree, state: p.state, pid: null, restarts: 0, task: null, exit: null, repairs: 0,
      retired: p.error?.message ?? null, leaving: false, pool: p.pool.id,
      error: p.error === null ? null : { code: p.error.code, message: p.error.message, logFile: p.logFile },
    }));
  }

  /** Every pool's status, in declaration order, counted now. */
  statuses(): PoolStatus[] {
    this.recount();
    return this.readiness.all();
  }

  /** One pool's status, counted now; `POOL_NOT_FOUND` for a pool that is not declared. */
  status(id: string): PoolStatus {
    this.recount();
    const status = this.readiness.get(id);
    if (status === undefined) {
      throw new CoordError('POOL_NOT_FOUND', `no pool "${id}" (pools: ${this.deps.pools.map((p) => p.id).join(', ')})`, { details: { pool: id } });
    }
    return status;
  }

  /** Stops setups and the handoff watch, and takes back coord's own handoff files. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.aborts.abort();
    for (const close of this.closers.splice(0)) close();
    await this.handoffs?.close();
    await this.writes.catch(() => undefined);
    const own = new Set([...this.poolOfWorker.keys(), ...this.deps.workers().map((w) => w.id)]);
    await Promise.all([...own].map((id) => removeHandoff(this.handoffDir, id).catch(() => undefined)));
  }

  private setupLogOf(workerId: string): string {
    return path.join(this.deps.stateDir, 'logs', 'setup', `${workerId}.log`);
  }

  private workerEvent(name: (typeof WORKER_EVENTS)[number], payload: SupervisorEvents[(typeof WORKER_EVENTS)[number]]): void {
    if (this.closed) return;
    // A worker said ready, or stopped being ready (a cooling one already said so when it died).
    if ('pid' in payload) this.writeOwn(payload.workerId, payload.pid);
    else if ('workerId' in payload && name !== 'coord:worker-cooling') this.writeOwn(payload.workerId, null);
    this.scheduleRecount();
  }

  /**
   * Counts again once the machines have settled: a worker's event is said during its
   * transition, before its snapshot shows the new state. A burst of events costs one count.
   */
  private scheduleRecount(): void {
    if (this.recountQueued) return;
    this.recountQueued = true;
    setImmediate(() => {
      this.recountQueued = false;
      this.recount();
    });
  }

  /**
   * Writes the handoff file of one of coord's workers: ready with `readyPid`, or (null) not
   * ready, with the pid it last had. One write after another, so the last state is on disk.
   */
  private writeOwn(workerId: string, readyPid: number | null): void {
    const worker = this.deps.workers().find((w) => w.id === workerId);
    const pid = readyPid ?? worker?.pid ?? null;
    if (pid === null) return;
    const file = { workerId, pool: this.poolOf(workerId), ready: readyPid !== null, pid, worktree: worker?.worktree ?? null, at: new Date(this.deps.now()).toISOString(), host: os.hostname() };
    this.writes = this.writes.then(() => writeHandoff(this.handoffDir, file)).catch((error: unknown) => {
      this.deps.logger.warn({ err: error, workerId }, 'could not write a handoff file');
    });
  }

  /** Counts every pool again; says `coord:pool` for each whose readiness flipped. */
  private recount(): void {
    if (this.closed) return;
    const own: OwnWorkerState[] = [
      ...this.deps.workers().filter((w) => !w.leaving && w.retired === null).map((w) => ({ pool: this.poolOf(w.id), state: w.state })),
      ...[...this.pending.values()].map((p) => ({ pool: p.pool.id, state: p.state })),
    ];
    const announced = [...(this.handoffs?.entries().values() ?? [])].flatMap((entry: HandoffEntry) => {
      if (this.poolById.has(entry.pool)) return [{ pool: entry.pool, ready: entry.ready, alive: entry.alive }];
      if (!this.warnedPools.has(entry.pool)) {
        this.warnedPools.add(entry.pool);
        this.deps.logger.warn({ file: entry.file, pool: entry.pool }, `a handoff file names pool "${entry.pool}", which is not declared: it counts for nothing`);
      }
      return [];
    });
    for (const status of this.readiness.update(own, announced, this.deps.now())) {
      this.deps.logger.info({ pool: status.id, ready: status.ready, workers: status.workers }, `pool ${status.id} is ${status.ready ? 'ready' : 'not ready'}`);
      this.deps.events.emit('coord:pool', { pool: status.id, ready: status.ready, workers: status.workers, since: status.since });
    }
  }
}

/**
 * What `waitForPool` listens to besides its polls: the pool's readiness flipping, and the
 * supervisor's state changing (a stop ends the wait).
 */
export function poolChanges(events: SupervisorEventBus, id: string): (listener: () => void) => () => void {
  return (listener) => {
    const onPool = ({ pool }: { pool: string }): void => {
      if (pool === id) listener();
    };
    events.on('coord:pool', onPool);
    events.on('coord:state', listener);
    return () => {
      events.off('coord:pool', onPool);
      events.off('coord:state', listener);
    };
  };
}
