/**
 * `createSupervisor()`: the wiring. It provides the pure machines in `machines/` with their
 * effects (forking workers, git, the queue), owns the queue and the dispatcher, and exposes
 * the small API users drive: start, submit, status, drain, stop.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { createActor, fromPromise, waitFor, type AnyActorRef, type SnapshotFrom } from 'xstate';
import { coordinatorMachine, coordinatorStateOf, type CoordinatorState, type InitializeOutput, type StopWorkersInput } from '../../machines/coordinator.js';
import type { RestartPolicy } from '../../machines/restart-policy.js';
import { CoordError, isCoordErrorCode } from '../errors.js';
import { createLogger, silentLogger, type Logger } from '../log/logger.js';
import { createRoundRobin } from '../pool/assign.js';
import { createRunProcess } from '../pool/run-process.js';
import { defaultWorkerEntry } from '../pool/worker-entry.js';
import type { TaskRecord, TaskStore } from '../store/task-store.js';
import { openRepository, type Repository } from '../worktrees/repository.js';
import { resolveSharedRemote, SharedBranches } from '../worktrees/shared-branches.js';
import { startCommitFor } from '../worktrees/start-commit.js';
import { defaultWorktreeRoot, WorktreeManager } from '../worktrees/worktrees.js';
import { BreakerBoard } from './breakers.js';
import { CountsCache, emitIfSettled, whenTrue } from './counts-cache.js';
import { Dispatcher } from './dispatcher.js';
import { SupervisorEventBus } from './events.js';
import { FallbackBoard } from './fallbacks.js';
import { resolveOptions, type SupervisorOptions } from './options.js';
import { provideBreaker, provideFallback, provideWorker } from './provided-machines.js';
import { handleServiceMessage, type TaskUsage } from './services.js';
import { openConfiguredStore } from './store-choice.js';
import { checkSubmission, parseSpecs } from './submission.js';
import { buildSummary } from './summary.js';
import type { CoordinatorActor, Supervisor } from './supervisor-api.js';
import { WorkerRegistry } from './worker-registry.js';

export type { CoordinatorActor, Supervisor, SupervisorStatus } from './supervisor-api.js';

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
 * console.log((await supervisor.summary()).tasks);
 * ```
 */
export function createSupervisor(options: SupervisorOptions): Supervisor {
  const config = resolveOptions(options);
  const events = new SupervisorEventBus();
  const registry = new WorkerRegistry();
  let repo: Repository | undefined;
  let store: TaskStore | undefined;
  let shared: SharedBranches | undefined;
  // Until start() knows the state directory, only a caller-supplied logger can be used.
  let logger: Logger = config.logger ?? silentLogger();
  let protocolRefusals = 0;
  const usage = new Map<string, TaskUsage>();
  const counts = new CountsCache(() => store);
  let stopUpkeep: () => void = () => {};
  const startedAt = new Date().toISOString();

  function requireRepo(): Repository {
    if (!repo) throw new CoordError('NOT_RUNNING', 'the supervisor has not been started');
    return repo;
  }
  function requireStore(): TaskStore {
    if (!store) throw new CoordError('NOT_RUNNING', 'the supervisor has not been started');
    return store;
  }
  function stateDirOf(): string {
    return config.stateDir ? path.resolve(config.stateDir) : path.join(requireRepo().gitDir, 'coord');
  }
  const taskLogDir = (): string => path.join(stateDirOf(), 'logs', 'tasks');

  const childOf = (id: string) => actor.getSnapshot().children[id] as AnyActorRef | undefined;
  const breakers = new BreakerBoard({ child: childOf, spawn: (scope) => actor.send({ type: 'breaker.ensure', scope }) });
  const fallbacks = new FallbackBoard(
    { child: childOf, spawn: (taskId, key) => actor.send({ type: 'fallback.ensure', taskId, key }), taskDir: (taskId) => path.join(taskLogDir(), taskId) },
    config.fallback.codes,
  );
  const dispatcher = new Dispatcher({
    get store() {
      return requireStore();
    },
    nodeId: config.nodeId,
    leaseMs: config.leaseMs,
    breakers,
    fallbacks,
    crashLooping: (workerId) => registry.crashLooping(workerId),
    workerGone: (workerId) => registry.gone(workerId),
    strategy: config.strategy ?? createRoundRobin(),
    events,
    get logger() {
      return logger;
    },
    get taskLogDir() {
      return taskLogDir();
    },
    defaultTimeoutMs: config.defaultTimeoutMs,
    maxLogBytes: config.maxLogBytes,
    slots: () => registry.slots(),
    accepting: () => coordinatorStateOf(actor.getSnapshot()) === 'running',
    startCommit: async (taskId, deps) => {
      await shared?.ensureLocal(deps);
      return startCommitFor(requireRepo().root, requireRepo().baseCommit, taskId, deps);
    },
    publishing: () => shared?.publishing ?? false,
    publish: async (branch, commit) => shared?.publish(branch, commit),
    assign: (workerId, message) => registry.assign(workerId, message),
    // Deferred: this can run inside the coordinator's `cancelInFlight` action, and an action
    // must not send events to other actors while its own transition is being computed.
    cancel: (workerId, taskId, reason) => queueMicrotask(() => registry.cancel(workerId, taskId, reason)),
  });
  counts.watch(events);

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
      handleServiceMessage({ dispatcher, store: requireStore(), logger, repoRoot: () => requireRepo().root, usage }, workerId, message, reply);
    },
  });

  const { type: restart, ...limits } = config.restart;
  const restartPolicy: RestartPolicy = { restart, ...limits };
  const random = config.random ?? Math.random;
  const provideDeps = { config, runProcess, dispatcher, events, logger: () => logger };

  const coordinator = coordinatorMachine.provide({
    actors: {
      worker: provideWorker(provideDeps),
      breaker: provideBreaker(provideDeps),
      fallback: provideFallback(provideDeps),
      initialize: fromPromise<InitializeOutput>(async () => {
        const opened = repo ?? (await openRepository(config.repo, { baseRef: config.baseRef, requireClean: !config.allowDirty }));
        repo = opened;
        const stateDir = stateDirOf();
        await mkdir(path.join(stateDir, 'logs', 'tasks'), { recursive: true });
        if (!config.logger) logger = createLogger({ file: path.join(stateDir, 'logs', 'coord.log'), level: config.logLevel, stderrLevel: config.logStderrLevel });
        store = await openConfiguredStore(config, stateDir, random);
        shared = new SharedBranches(opened.root, await resolveSharedRemote(opened.root, config.remote, store.kind), config.nodeId);
        // Tasks this node held when it last stopped (a crash, kill -9) run again: at-least-once.
        const recovered = await store.releaseNode(config.nodeId, Date.now());
        if (recovered.length > 0) logger.warn({ tasks: recovered }, `recovered ${recovered.length} task(s) in flight at the last stop`);
        await counts.refresh();
        const worktrees = new WorktreeManager(opened, config.worktreeRoot ? path.resolve(config.worktreeRoot) : defaultWorktreeRoot(opened));
        const workers: InitializeOutput['workers'] = [];
        for (let i = 1; i <= config.workers; i += 1) {
          const workerId = `w${i}`;
          workers.push({ workerId, worktree: await worktrees.ensure(workerId), capabilities: config.workerCapabilities, restartPolicy, random });
        }
        stopUpkeep = dispatcher.startUpkeep();
        unsubscribeStore = store.onChange(() => dispatcher.changedElsewhere());
        logger.info({ repo: opened.root, baseCommit: opened.baseCommit, stateDir, store: store.kind, nodeId: config.nodeId, remote: shared.remote, workers: workers.length }, 'initialized');
        return { workers };
      }),
      awaitIdle: fromPromise(() => whenTrue(async () => (await requireStore().inFlight(config.nodeId)).length === 0, events)),
      stopWorkers: fromPromise<void, StopWorkersInput>(async ({ input }) => {
        for (const ref of input.workers) if (ref.getSnapshot().status === 'active') ref.send({ type: 'worker.stop' });
        await Promise.all(input.workers.map((ref) => waitFor(ref, (s) => s.status === 'done', { timeout: Infinity })));
      }),
      closeResources: fromPromise(async () => {
        stopUpkeep();
        unsubscribeStore();
        dispatcher.stop();
        await dispatcher.flush();
        await counts.refresh();
        // The summary outlives the store: keep its last word before closing.
        if (store) finalTasks = await store.list();
        if (store && typeof config.store !== 'object') await store.close();
        logger.flush?.();
      }),
    },
    actions: {
      cancelInFlight: (_, { reason }) => dispatcher.cancelInFlight(reason === 'stop' ? 'stop requested' : 'drain deadline reached'),
    },
  });
  let unsubscribeStore: () => void = () => {};
  let finalTasks: TaskRecord[] | undefined;

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
    }
  });

  const finalState = (): Promise<void> => waitFor(actor, (s) => s.status === 'done', { timeout: Infinity }).then(() => undefined);
  const ended = (): boolean => actor.getSnapshot().status === 'done';

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
      await checkSubmission(specs, requireRepo(), requireStore(), registry.slots());
      const added = await requireStore().submit(specs, Date.now());
      logger.info({ added: added.length }, 'tasks submitted');
      await counts.refresh();
      await emitIfSettled(requireStore(), events);
      dispatcher.schedule();
      return added;
    },
    status() {
      return { state: coordinatorStateOf(actor.getSnapshot()), workers: registry.describe(), counts: counts.current(), breakers: breakers.describe(), protocolRefusals };
    },
    async settled() {
      // Either every task is terminal, or the run ended (failed, stopped) with some that are not.
      await Promise.race([whenTrue(async () => ended() || (store !== undefined && (await store.isSettled())), events), finalState()]);
      if (!ended()) await counts.refresh();
    },
    async drain(deadlineMs) {
      actor.send({ type: 'coordinator.drain', ...(deadlineMs === undefined ? {} : { deadlineMs }) });
      await finalState();
    },
    async stop() {
      actor.send({ type: 'coordinator.stop' });
      await finalState();
    },
    async redrive(taskId) {
      const changed = await requireStore().redrive(taskId, Date.now());
      if (changed.length === 0) throw new CoordError('TASK_NOT_FOUND', `task "${taskId}" is not dead (or does not exist): nothing to redrive`);
      logger.info({ taskId, changed }, 'redrove a dead task');
      await counts.refresh();
      dispatcher.schedule();
      return changed;
    },
    async summary() {
      const snapshot = actor.getSnapshot();
      return buildSummary({
        state: coordinatorStateOf(snapshot),
        error: snapshot.context.error,
        repo,
        startedAt,
        workers: registry.describe(),
        tasks: finalTasks ?? (store ? await store.list() : []),
        counts: counts.current(),
        usage,
        taskLogDir: repo ? taskLogDir() : null,
      });
    },
  };
}
