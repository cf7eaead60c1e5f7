/**
 * The supervisor's core — the outcome path and dispatch — on an in-memory store, real
 * breaker and fallback-chain actors, and a fake worker pool: no process, no git. Time is a
 * number the test moves.
 */
import { createActor, type AnyActorRef } from 'xstate';
import { circuitBreakerMachine, type CircuitBreakerConfig } from '../../machines/circuit-breaker.js';
import { fallbackChainMachine } from '../../machines/fallback-chain.js';
import type { CoordErrorCode } from '../../src/errors.js';
import { silentLogger } from '../../src/log/logger.js';
import { createRoundRobin, type WorkerSlot } from '../../src/pool/assign.js';
import type { ParentMessageOf } from '../../src/protocol/messages.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import type { TaskSpecInput } from '../../src/tasks/spec.js';
import { BreakerBoard } from '../../src/supervisor/breakers.js';
import { emitIfSettled } from '../../src/supervisor/counts-cache.js';
import { Dispatcher } from '../../src/supervisor/dispatch/dispatcher.js';
import { SupervisorEventBus, type SupervisorEventName, type SupervisorEvents } from '../../src/supervisor/events.js';
import { FallbackBoard } from '../../src/supervisor/fallbacks.js';
import { Outcomes, type Publisher } from '../../src/supervisor/outcomes/outcomes.js';
import { parseSpecs } from '../../src/supervisor/submission.js';
import { Tracker } from '../../src/supervisor/tracker.js';
import type { WorkerPool } from '../../src/supervisor/worker-pool.js';
import type { StartCommit } from '../../src/worktrees/start-commit.js';

export const SHA = 'a'.repeat(40);

/** A worker pool whose workers are plain records: idle until given a task, which they keep until told. */
export class FakeWorkers implements WorkerPool {
  readonly assigned: Array<ParentMessageOf<'coord:assign'> & { workerId: string }> = [];
  readonly cancelled: Array<{ workerId: string; taskId: string; reason: string }> = [];
  readonly retired = new Map<string, string>();
  /** Workers that refuse the next hand-over (they died while git was working). */
  readonly refusing = new Set<string>();
  private readonly busy = new Map<string, string>();

  constructor(private readonly ids: string[], private readonly capabilities: Record<string, string[]> = {}) {}

  slots(): WorkerSlot[] {
    return this.ids.map((workerId) => ({
      workerId, capabilities: this.capabilities[workerId] ?? [], idle: !this.busy.has(workerId) && !this.retired.has(workerId),
    }));
  }

  assign(workerId: string, message: ParentMessageOf<'coord:assign'>): boolean {
    if (this.refusing.delete(workerId) || this.busy.has(workerId)) return false;
    this.busy.set(workerId, message.taskId);
    this.assigned.push({ ...message, workerId });
    return true;
  }

  /** The worker finished what it held (its result is the test's to report). */
  free(workerId: string): void {
    this.busy.delete(workerId);
  }

  cancel(workerId: string, taskId: string, reason: string): void {
    this.cancelled.push({ workerId, taskId, reason });
  }

  retire(workerId: string, reason: string): boolean {
    if (this.retired.has(workerId)) return false;
    this.retired.set(workerId, reason);
    return true;
  }

  crashLooping(): boolean {
    return false;
  }

  gone(workerId: string): boolean {
    return this.retired.has(workerId);
  }
}

export interface CoreOptions {
  workers?: string[];
  maxAttempts?: number;
  breaker?: Partial<CircuitBreakerConfig>;
  /** What the start commit of each task is (default: SHA for all). */
  startCommit?: (taskId: string) => Promise<StartCommit>;
  publisher?: Publisher;
}

/** One core: store, events (recorded), breakers, fallbacks, outcomes, dispatch. */
export async function makeCore(options: CoreOptions = {}) {
  const store = new MemoryStore({ maxAttempts: options.maxAttempts ?? 3, random: () => 0, backoff: { initialMs: 0, maxMs: 0, factor: 1 } });
  await store.open();
  const events = new SupervisorEventBus();
  const seen: string[] = [];
  const record = <K extends SupervisorEventName>(name: K, describe: (e: SupervisorEvents[K]) => string): void => {
    events.on(name, (e) => seen.push(`${name.slice('coord:'.length)} ${describe(e)}`));
  };
  record('coord:submitted', (e) => e.taskIds.join(','));
  record('coord:assigned', (e) => `${e.taskId}@${e.workerId}#${e.attempt}`);
  record('coord:started', (e) => `${e.taskId}@${e.workerId}`);
  record('coord:complete', (e) => `${e.taskId}@${e.workerId}`);
  record('coord:failed', (e) => `${e.taskId} ${e.error.code}${e.willRetry ? ' retry' : ''}`);
  record('coord:dead', (e) => `${e.taskId} ${e.error.code}`);
  record('coord:blocked', (e) => `${e.taskId} ${e.error.code}`);
  record('coord:released', (e) => `${e.taskId} (${e.reason})`);
  record('coord:redriven', (e) => `${e.taskId}: ${e.changed.join(',')}`);
  record('coord:held', (e) => `${e.taskId} by ${e.scope}`);
  record('coord:settled', () => '');

  const actors = new Map<string, AnyActorRef>();
  const child = (id: string): AnyActorRef | undefined => actors.get(id);
  const breakers = new BreakerBoard({
    child,
    spawn: (scope) => actors.set(`breaker:${scope}`, createActor(circuitBreakerMachine, { input: { ...options.breaker, scope } }).start()),
  });
  const fallbacks = new FallbackBoard({
    child,
    spawn: (taskId, key) => actors.set(`fallback:${key}`, createActor(fallbackChainMachine, { input: { taskId } }).start()),
    taskDir: (taskId) => `/tmp/coord-core-test/${taskId}`,
  });
  const workers = new FakeWorkers(options.workers ?? ['w1', 'w2']);
  const logger = silentLogger();
  const errors: unknown[] = [];
  const tracker = new Tracker(logger, (error) => {
    errors.push(error);
    return true;
  });
  const clock = { now: 1_000 };
  const now = (): number => clock.now;
  let accepting = true;
  let dispatcher: Dispatcher | undefined;
  const outcomes = new Outcomes({
    store, events, logger, breakers, fallbacks, workers, nodeId: 'n1', taskLogDir: '/tmp/coord-core-test', now, agents: {}, rateLimitDefaultWaitMs: 60_000,
    publisher: options.publisher ?? { publishing: false, share: async () => {}, advertise: async () => {} },
    changed: async () => {
      dispatcher?.schedule();
      await emitIfSettled(store, events);
    },
  });
  dispatcher = new Dispatcher({
    store, nodeId: 'n1', leaseMs: 60_000, strategy: createRoundRobin(), workers, breakers, fallbacks, outcomes, events, logger, tracker, now,
    limits: { taskLogDir: '/tmp/coord-core-test', defaultTimeoutMs: null, maxLogBytes: 1 << 20, quietAfterMs: null, agents: {}, agentResultGraceMs: 30_000, agentStallAfterMs: null },
    startCommit: (taskId) => options.startCommit?.(taskId) ?? Promise.resolve({ ok: true, commit: SHA }),
    accepting: () => accepting,
  });
  const core = {
    store, events, seen, breakers, fallbacks, workers, outcomes, dispatcher, tracker, clock, errors,
    setAccepting(value: boolean): void {
      accepting = value;
    },
    async submit(tasks: TaskSpecInput[]): Promise<string[]> {
      return outcomes.submit(parseSpecs(tasks));
    },
    /** Runs dispatch until nothing more happens (every pass and hand-over finished). */
    async settle(): Promise<void> {
      for (let i = 0; i < 3; i += 1) {
        await new Promise((resolve) => setImmediate(resolve));
        await tracker.flush();
      }
    },
    /** The assign message `taskId`'s latest attempt was handed over with. */
    assignOf(taskId: string) {
      const found = workers.assigned.filter((a) => a.taskId === taskId).at(-1);
      if (!found) throw new Error(`${taskId} was never handed over (seen: ${seen.join(' | ')})`);
      return found;
    },
    /** Reports from the worker holding `taskId` that it started, then that it ended. */
    async start(taskId: string): Promise<void> {
      const a = core.assignOf(taskId);
      await outcomes.report(a.workerId, { type: 'coord:started', taskId, attempt: a.attempt, lease: a.lease, pid: 1 });
    },
    async complete(taskId: string): Promise<void> {
      const a = core.assignOf(taskId);
      workers.free(a.workerId);
      await outcomes.report(a.workerId, { type: 'coord:complete', taskId, attempt: a.attempt, lease: a.lease, exitCode: 0, result: null, commit: SHA, durationMs: 1 });
    },
    async fail(taskId: string, code: CoordErrorCode, retryable = true): Promise<void> {
      const a = core.assignOf(taskId);
      workers.free(a.workerId);
      await outcomes.report(a.workerId, {
        type: 'coord:failed', taskId, attempt: a.attempt, lease: a.lease, code, message: `${code} on purpose`, exitCode: 1, signal: null,
        retryable, retryAfterMs: null, commit: null, durationMs: 1, outputTail: [`${code} printed this`],
      });
    },
  };
  return core;
}
