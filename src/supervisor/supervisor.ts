/**
 * `createSupervisor()`: the wiring. It provides the pure machines in `machines/` with their
 * effects (forking workers, git, the queue), owns the queue and the dispatcher, and exposes
 * the small API users drive: start, submit, status, drain, stop.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { createActor, fromPromise, waitFor, type Actor, type AnyActorRef, type SnapshotFrom } from 'xstate';
import { coordinatorMachine, coordinatorStateOf, type CoordinatorState, type InitializeOutput, type StopWorkersInput } from '../../machines/coordinator.js';
import { workerMachine } from '../../machines/worker.js';
import { circuitBreakerMachine } from '../../machines/circuit-breaker.js';
import { fallbackChainMachine } from '../../machines/fallback-chain.js';
import type { RestartPolicy } from '../../machines/restart-policy.js';
import { CoordError, isCoordErrorCode } from '../errors.js';
import { createLogger, silentLogger, type Logger } from '../log/logger.js';
import { createRoundRobin, canEverRun } from '../pool/assign.js';
import { createRunProcess } from '../pool/run-process.js';
import { defaultWorkerEntry } from '../pool/worker-entry.js';
import { TaskQueue } from '../queue/task-queue.js';
import { TaskSpecSchema, type TaskSpec, type TaskSpecInput } from '../tasks/spec.js';
import { existingTaskBranches, openRepository, type Repository } from '../worktrees/repository.js';
import { startCommitFor } from '../worktrees/start-commit.js';
import { defaultWorktreeRoot, WorktreeManager } from '../worktrees/worktrees.js';
import { Dispatcher } from './dispatcher.js';
import { BreakerBoard } from './breakers.js';
import { FallbackBoard } from './fallbacks.js';
import { SupervisorEventBus } from './events.js';
import { resolveOptions, type SupervisorOptions } from './options.js';
import { buildSummary, type RunSummary } from './summary.js';
import { WorkerRegistry } from './worker-registry.js';
import { handleServiceMessage, type TaskUsage } from './services.js';

/** The root actor: the coordinator machine with coord's effects provided. */
export type CoordinatorActor = Actor<typeof coordinatorMachine>;

/** A point-in-time view of the supervisor. */
export interface SupervisorStatus {
  state: CoordinatorState;
  workers: ReturnType<WorkerRegistry['describe']>;
  counts: Record<string, number>;
  breakers: Array<{ scope: string; state: string }>;
  protocolRefusals: number;
}

/** A running coord supervisor. Create it with {@link createSupervisor}. */
export interface Supervisor {
  /** The coordinator actor (root of every machine), for inspection. */
  readonly actor: CoordinatorActor;
  /** Typed `coord:*` events. */
  readonly events: SupervisorEventBus;
  /** Opens the repository, prepares worktrees, forks workers; resolves when running. */
  start(): Promise<void>;
  /** Validates and enqueues tasks, all or nothing. Resolves with the ids added. */
  submit(tasks: readonly TaskSpecInput[]): Promise<string[]>;
  status(): SupervisorStatus;
  /** Resolves when every submitted task is terminal (complete, dead, blocked, cancelled), or the run failed. */
  settled(): Promise<void>;
  /** Stops assigning, lets running tasks finish until the deadline, then stops. */
  drain(deadlineMs?: number): Promise<void>;
  /** Cancels running tasks (back to ready, no attempt burned) and stops at once. */
  stop(): Promise<void>;
  /** The run summary (the `--summary` contract). */
  summary(): RunSummary;
}

/**
 * Creates a supervisor for one repository.
 *
 * @example
 * ```ts
 * import { createSupervisor } from 'coord';
 *
 * const supervisor = createSupervisor({ repo: '/src/app', workers: 4 });
 * supervisor.events.on('coord:complete', ({ taskId, workerId }) => console.log(taskId, 'done on', workerId));
 * await supervisor.start();
 * await supervisor.submit([
 *   { id: 'lint', run: ['npm', 'run', 'lint'] },
 *   { id: 'fix', run: ['claude', '-p', 'fix the lint errors'], deps: ['lint'] },
 * ]);
 * await supervisor.settled();
 * await supervisor.drain();
 * console.log(supervisor.summary().tasks);
 * ```
 */
export function createSupervisor(options: SupervisorOptions): Supervisor {
  const config = resolveOptions(options);
  const events = new SupervisorEventBus();
  const queue = new TaskQueue({ maxAttempts: config.maxAttempts, random: config.random });
  const registry = new WorkerRegistry();
  let repo: Repository | undefined;
  // Until start() knows the state directory, only a caller-supplied logger can be used.
  let logger: Logger = config.logger ?? silentLogger();
  let protocolRefusals = 0;
  const usage = new Map<string, TaskUsage>();
  let settledWaiters: Array<() => void> = [];
  const startedAt = new Date().toISOString();

  const resolveSettled = (): void => {
    const waiters = settledWaiters;
    settledWaiters = [];
    for (const resolve of waiters) resolve();
  };

  const childOf = (id: string) => actor.getSnapshot().children[id] as AnyActorRef | undefined;
  const breakers = new BreakerBoard({ child: childOf, spawn: (scope) => actor.send({ type: 'breaker.ensure', scope }) });
  const fallbacks = new FallbackBoard({
    child: childOf,
    spawn: (taskId, key) => actor.send({ type: 'fallback.ensure', taskId, key }),
    taskDir: (taskId) => path.join(stateDirOf(), 'logs', 'tasks', taskId),
  }, config.fallback.codes);
  const dispatcher = new Dispatcher({
    breakers,
    fallbacks,
    crashLooping: (workerId) => registry.crashLooping(workerId),
    workerGone: (workerId) => registry.gone(workerId),
    queue,
    strategy: config.strategy ?? createRoundRobin(),
    events,
    get logger() {
      return logger;
    },
    get taskLogDir() {
      return path.join(stateDirOf(), 'logs', 'tasks');
    },
    defaultTimeoutMs: config.defaultTimeoutMs,
    slots: () => registry.slots(),
    accepting: () => coordinatorStateOf(actor.getSnapshot()) === 'running',
    startCommit: (taskId, deps) => startCommitFor(requireRepo().root, requireRepo().baseCommit, taskId, deps),
    assign: (workerId, message) => registry.assign(workerId, message),
    // Deferred: this runs inside the coordinator's `cancelInFlight` action, and an action
    // must not send events to other actors while its own transition is being computed.
    cancel: (workerId, taskId, reason) => queueMicrotask(() => registry.cancel(workerId, taskId, reason)),
  });
  events.on('coord:settled', resolveSettled);

  function requireRepo(): Repository {
    if (!repo) throw new CoordError('NOT_RUNNING', 'the supervisor has not been started');
    return repo;
  }
  function stateDirOf(): string {
    return config.stateDir ? path.resolve(config.stateDir) : path.join(requireRepo().gitDir, 'coord');
  }

  const runProcess = createRunProcess({
    entry: config.workerEntry ?? defaultWorkerEntry(),
    heartbeatMs: config.heartbeatMs,
    moduleThreads: config.moduleThreads,
    killGraceMs: config.killGraceMs,
    get logger() {
      return logger;
    },
    onRefused(workerId, refusal) {
      protocolRefusals += 1;
      logger.warn({ workerId, reason: refusal.reason, refusedType: refusal.refusedType }, 'refused a malformed message from a worker');
      events.emit('coord:protocol-refused', { workerId, reason: refusal.reason, refusedType: refusal.refusedType });
    },
    onServiceMessage(workerId, message, reply) {
      handleServiceMessage({ dispatcher, queue, logger, repoRoot: () => requireRepo().root, usage }, workerId, message, reply);
    },
  });

  const { type: restart, ...limits } = config.restart;
  const restartPolicy: RestartPolicy = { restart, ...limits };
  const random = config.random ?? Math.random;
  const worker = workerMachine.provide({
    actors: { runProcess },
    delays: {
      spawnTimeout: config.spawnTimeoutMs,
      shutdownGrace: config.shutdownGraceMs,
      killGrace: config.killGraceMs,
      heartbeatTimeout: config.heartbeatMs * config.missedHeartbeats,
    },
    actions: {
      reportReady: (_, { workerId, pid }) => {
        events.emit('coord:worker-ready', { workerId, pid });
        dispatcher.schedule();
      },
      // Results are applied after the worker's transition, not inside it: applying one sends
      // events to breakers and fallback chains, which an action must not do.
      reportTaskResult: (_, { workerId, message }) => queueMicrotask(() => dispatcher.result(workerId, message)),
      reportStaleResult: (_, { workerId, message, current }) => {
        logger.warn({ workerId, taskId: message.taskId, lease: message.lease, current }, 'ignored a result with a stale lease');
      },
      reportTaskLost: (_, { workerId, task, exit, hung }) => {
        queueMicrotask(() => dispatcher.lost(workerId, task, { ...exit, hung }));
      },
      reportRestart: (_, { workerId, restart, delayMs, exit }) => {
        logger.warn({ workerId, restart, delayMs, ...exit }, 'restarting worker');
        events.emit('coord:worker-restarting', { workerId, restart, delayMs, code: exit.code, signal: exit.signal });
      },
      reportHung: (_, { workerId, lastHeartbeatAt }) => {
        logger.error({ workerId, lastHeartbeatAt }, 'worker stopped heartbeating: killing it');
        events.emit('coord:worker-hung', { workerId, lastHeartbeatAt });
      },
      reportExit: (_, { workerId, exit, duringShutdown }) => {
        logger[duringShutdown ? 'info' : 'error']({ workerId, ...exit }, duringShutdown ? 'worker exited' : 'worker died');
        events.emit('coord:worker-exited', { workerId, code: exit.code, signal: exit.signal });
      },
    },
  });

  const breaker = circuitBreakerMachine.provide({
    actions: {
      reportTransition: (_, { scope, from, to, reason }) => {
        logger[to === 'open' ? 'warn' : 'info']({ scope, from, to, reason }, `circuit breaker ${scope}: ${from} -> ${to}`);
        events.emit('coord:breaker', { scope, from, to, reason });
        // A breaker leaving `open` may let waiting tasks through.
        if (to !== 'open') dispatcher.schedule();
      },
    },
  });
  const logHop = (taskId: string, stage: string) => logger.info({ taskId, stage }, `fallback chain of ${taskId}: ${stage}`);
  const fallback = fallbackChainMachine.provide({
    actions: {
      retryLive: (_, { taskId }) => logHop(taskId, 'live retry on the same worker'),
      resumeOnWorker: (_, { taskId, resumeCount }) => logHop(taskId, `resume ${resumeCount} on the same worker`),
      respawnElsewhere: (_, { taskId }) => logHop(taskId, 'respawn on a fresh worker with a summary'),
      deadLetter: (_, { taskId, hops }) => logger.warn({ taskId, hops }, `fallback chain of ${taskId} exhausted`),
    },
  });

  const coordinator = coordinatorMachine.provide({
    actors: {
      worker,
      breaker,
      fallback,
      initialize: fromPromise<InitializeOutput>(async () => {
        const opened = repo ?? (await openRepository(config.repo, { baseRef: config.baseRef, requireClean: !config.allowDirty }));
        repo = opened;
        const stateDir = stateDirOf();
        await mkdir(path.join(stateDir, 'logs', 'tasks'), { recursive: true });
        if (!config.logger) logger = createLogger({ file: path.join(stateDir, 'logs', 'coord.log'), level: config.logLevel, stderrLevel: config.logStderrLevel });
        const worktrees = new WorktreeManager(opened, config.worktreeRoot ? path.resolve(config.worktreeRoot) : defaultWorktreeRoot(opened));
        const workers: InitializeOutput['workers'] = [];
        for (let i = 1; i <= config.workers; i += 1) {
          const workerId = `w${i}`;
          workers.push({ workerId, worktree: await worktrees.ensure(workerId), capabilities: config.workerCapabilities, restartPolicy, random });
        }
        logger.info({ repo: opened.root, baseCommit: opened.baseCommit, stateDir, workers: workers.length }, 'initialized');
        return { workers };
      }),
      awaitIdle: fromPromise(() => waitUntil(() => queue.inFlight().length === 0, events)),
      stopWorkers: fromPromise<void, StopWorkersInput>(async ({ input }) => {
        for (const ref of input.workers) if (ref.getSnapshot().status === 'active') ref.send({ type: 'worker.stop' });
        await Promise.all(input.workers.map((ref) => waitFor(ref, (s) => s.status === 'done', { timeout: Infinity })));
      }),
      closeResources: fromPromise(async () => {
        dispatcher.stop();
        logger.flush?.();
      }),
    },
    actions: {
      cancelInFlight: (_, { reason }) => dispatcher.cancelInFlight(reason === 'stop' ? 'stop requested' : 'drain deadline reached'),
    },
  });

  const actor: CoordinatorActor = createActor(coordinator, {
    input: {
      drainDeadlineMs: config.drainDeadlineMs,
      breaker: config.breaker,
      fallback: { maxResumes: config.fallback.maxResumes, staleAfterMs: config.fallback.staleAfterMs },
    },
  });
  let lastState: CoordinatorState | undefined;
  actor.subscribe((snapshot: SnapshotFrom<typeof coordinator>) => {
    registry.sync(snapshot.context.workers, {
      onIdle: () => dispatcher.schedule(),
      onFailed: (workerId, exit) => {
        events.emit('coord:worker-failed', { workerId, code: exit?.code ?? null, signal: exit?.signal ?? null });
        actor.send({ type: 'worker.failed', workerId });
      },
    });
    const state = coordinatorStateOf(snapshot);
    if (state !== lastState) {
      lastState = state;
      logger.info({ state }, 'coordinator state');
      events.emit('coord:state', { state });
      if (state === 'failed' || state === 'stopped') resolveSettled();
    }
  });

  const finalState = (): Promise<void> => waitFor(actor, (s) => s.status === 'done', { timeout: Infinity }).then(() => undefined);

  return {
    actor,
    events,
    async start() {
      actor.start();
      const snapshot = await waitFor(actor, (s) => coordinatorStateOf(s) !== 'init', { timeout: Infinity });
      if (coordinatorStateOf(snapshot) === 'failed') {
        const error = snapshot.context.error;
        throw new CoordError(isCoordErrorCode(error?.code) ? error.code : 'INTERNAL', error?.message ?? 'the supervisor failed to start');
      }
    },
    async submit(tasks) {
      const state = coordinatorStateOf(actor.getSnapshot());
      if (state !== 'running') throw new CoordError('NOT_RUNNING', `cannot submit tasks while the supervisor is ${state}`);
      const specs = parseSpecs(tasks);
      const branches = await existingTaskBranches(requireRepo());
      const fresh = specs.filter((spec) => !queue.get(spec.id));
      const taken = fresh.filter((spec) => branches.has(`coord/${spec.id}`)).map((spec) => `coord/${spec.id}`);
      if (taken.length > 0) {
        throw new CoordError('BRANCH_EXISTS', `branch ${taken.slice(0, 5).join(', ')} already exists: delete it or rename the task`, { details: { branches: taken } });
      }
      const unrunnable = fresh.filter((spec) => !canEverRun(spec, registry.slots()));
      if (unrunnable.length > 0) {
        throw new CoordError('TASK_UNSATISFIABLE', `no worker has the capabilities task "${unrunnable[0]?.id}" needs (${unrunnable[0]?.needs.join(', ')})`);
      }
      const added = queue.submit(specs);
      logger.info({ added: added.length }, 'tasks submitted');
      if (queue.isSettled()) events.emit('coord:settled', { counts: queue.counts() });
      dispatcher.schedule();
      return added;
    },
    status() {
      return {
        state: coordinatorStateOf(actor.getSnapshot()),
        workers: registry.describe(),
        counts: queue.counts(),
        breakers: breakers.describe(),
        protocolRefusals,
      };
    },
    settled() {
      const state = coordinatorStateOf(actor.getSnapshot());
      if (queue.isSettled() || state === 'failed' || state === 'stopped') return Promise.resolve();
      return new Promise((resolve) => settledWaiters.push(resolve));
    },
    async drain(deadlineMs) {
      actor.send({ type: 'coordinator.drain', ...(deadlineMs === undefined ? {} : { deadlineMs }) });
      await finalState();
    },
    async stop() {
      actor.send({ type: 'coordinator.stop' });
      await finalState();
    },
    summary() {
      const snapshot = actor.getSnapshot();
      return buildSummary({
        state: coordinatorStateOf(snapshot),
        error: snapshot.context.error,
        repo,
        startedAt,
        workers: registry.describe(),
        tasks: queue.all(),
        counts: queue.counts(),
        usage,
        taskLogDir: repo ? path.join(stateDirOf(), 'logs', 'tasks') : null,
      });
    },
  };
}

function parseSpecs(tasks: readonly TaskSpecInput[]): TaskSpec[] {
  return tasks.map((task, index) => {
    const parsed = TaskSpecSchema.safeParse(task);
    if (parsed.success) return parsed.data;
    const issue = parsed.error.issues[0];
    const unsafe = issue?.path[0] === 'id' || (issue?.path[0] === 'deps' && issue.code === 'custom');
    throw new CoordError(unsafe ? 'TASK_UNSAFE_ID' : 'TASK_INVALID', `tasks[${index}]${issue?.path.length ? '.' + issue.path.join('.') : ''}: ${issue?.message}`, {
      details: { index, issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) },
    });
  });
}

function waitUntil(predicate: () => boolean, events: SupervisorEventBus): Promise<void> {
  if (predicate()) return Promise.resolve();
  return new Promise((resolve) => {
    const check = (): void => {
      if (!predicate()) return;
      for (const name of ['coord:complete', 'coord:failed', 'coord:released', 'coord:blocked'] as const) events.off(name, check);
      resolve();
    };
    for (const name of ['coord:complete', 'coord:failed', 'coord:released', 'coord:blocked'] as const) events.on(name, check);
  });
}
