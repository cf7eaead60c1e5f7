/**
 * `createSupervisor()`: the wiring. It provides the pure machines in `machines/` with their
 * effects (forking workers, git, the queue), owns the queue and the dispatcher, and exposes
 * the small API users drive: start, submit, status, drain, stop.
 */
import path from 'node:path';
import { createActor, fromPromise, waitFor, type AnyActorRef, type SnapshotFrom } from 'xstate';
import { coordinatorMachine, coordinatorStateOf, type CoordinatorState, type InitializeOutput, type StopWorkersInput } from '../../machines/coordinator.js';
import type { RestartPolicy } from '../../machines/restart-policy.js';
import { CoordError, isCoordErrorCode } from '../errors.js';
import { lockOrRefuse, thisProcess } from '../locks/file-lock.js';
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
import { FaultStop } from './fault-stop.js';
import { SupervisorEventBus } from './events.js';
import { FallbackBoard } from './fallbacks.js';
import { resolveOptions, type SupervisorOptions } from './options.js';
import { provideBreaker, provideFallback, provideWorker } from './provided-machines.js';
import { recoverNode } from './recovery.js';
import { handleServiceMessage, type TaskUsage } from './services.js';
import { prepareStateDir } from './state-dir.js';
import { openConfiguredStore } from './store-choice.js';
import { checkSubmission, parseSpecs } from './submission.js';
import { buildSummary } from './summary.js';
import { createTaskReaper } from './task-reaper.js';
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
  // Deferred send: a fault can be reported from inside an action (a log line written there).
  const faults = new FaultStop({
    logger: () => logger,
    stop: (error) => queueMicrotask(() => actor.send({ type: 'coordinator.fault', error: { code: error.code, message: error.message } })),
  });
  const counts = new CountsCache(() => store, (error) => faults.fatal(error));
  let stopUpkeep: () => void = () => {};
  /** What this supervisor holds (locks, the store), released last-first at the stop. */
  const holds: Array<() => unknown> = [];
  const releaseHolds = async (): Promise<void> => {
    // Every hold is released even when one fails (a faulted store's close): the first error is rethrown after.
    let failure: unknown;
    for (let release = holds.pop(); release; release = holds.pop()) {
      try {
        await release();
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure !== undefined) throw failure;
  };
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
    retire: (workerId, reason) => {
      if (!registry.retire(workerId, reason)) return;
      events.emit('coord:worker-failed', { workerId, code: null, signal: null });
      actor.send({ type: 'worker.failed', workerId });
    },
    workerGone: (workerId) => registry.gone(workerId),
    fatal: (error) => faults.fatal(error),
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

  const reaper = createTaskReaper(() => logger);
  const runProcess = createRunProcess({
    entry: config.workerEntry ?? defaultWorkerEntry(),
    repoRoot: () => requireRepo().root,
    runId: reaper.runId,
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
      handleServiceMessage({
        dispatcher, store: requireStore(), logger, repoRoot: () => requireRepo().root, usage, onWorkspaceRepaired: (id) => registry.countRepair(id),
        fatal: (error) => faults.fatal(error),
      }, workerId, message, reply);
    },
  });

  const { type: restart, ...limits } = config.restart;
  const restartPolicy: RestartPolicy = { restart, ...limits };
  const random = config.random ?? Math.random;
  const provideDeps = { config, runProcess, dispatcher, events, reaper, logger: () => logger };

  const coordinator = coordinatorMachine.provide({
    actors: {
      worker: provideWorker(provideDeps),
      breaker: provideBreaker(provideDeps),
      fallback: provideFallback(provideDeps),
      initialize: fromPromise<InitializeOutput>(async () => {
        const opened = repo ?? (await openRepository(config.repo, { baseRef: config.baseRef, requireClean: !config.allowDirty }));
        repo = opened;
        const stateDir = stateDirOf();
        await prepareStateDir(stateDir);
        // One supervisor per state directory: a second one would "recover" the first one's
        // tasks in flight and run them again in the same worktrees.
        const owner = thisProcess(config.nodeId, `the state directory ${stateDir}`);
        const stateLock = lockOrRefuse(path.join(stateDir, 'supervisor.lock'), owner, 'STATE_LOCKED',
          'stop it first (SIGTERM drains it), or give this one its own --state-dir');
        holds.push(() => stateLock.release());
        try {
          const logFile = path.join(stateDir, 'logs', 'coord.log');
          if (!config.logger) {
            const onError = (error: unknown): void => void faults.fatal(error, { kind: 'file', path: logFile });
            logger = createLogger({ file: logFile, level: config.logLevel, stderrLevel: config.logStderrLevel, onError });
          }
          store = await openConfiguredStore(config, stateDir, random);
          const openedStore = store;
          if (typeof config.store !== 'object') holds.push(() => openedStore.close());
          // Under this hold nobody else alive is this node, so what it holds in flight is a
          // dead process's: recovery below can take it without stealing a live claim.
          const nodeHold = await store.holdNode(owner);
          holds.push(() => nodeHold.release());
          shared = new SharedBranches(opened.root, await resolveSharedRemote(opened.root, config.remote, store.kind), config.nodeId);
          // Tasks this node held when it last stopped (a crash, kill -9) run again: at-least-once,
          // until one has been running at `maxReleases` crashes (then it is dead: it kills us).
          await recoverNode(store, config.nodeId, Date.now(), events, logger);
          await counts.refresh();
          const worktrees = new WorktreeManager(opened, config.worktreeRoot ? path.resolve(config.worktreeRoot) : defaultWorktreeRoot(opened), owner);
          holds.push(() => worktrees.releaseAll());
          const workers: InitializeOutput['workers'] = [];
          for (let i = 1; i <= config.workers; i += 1) {
            const workerId = `w${i}`;
            const ensured = await worktrees.ensure(workerId);
            if (ensured.repaired) logger.warn({ workerId, worktree: ensured.path, found: ensured.repaired }, 'rebuilt a broken worktree');
            workers.push({ workerId, worktree: ensured.path, capabilities: config.workerCapabilities, restartPolicy, random });
          }
          stopUpkeep = dispatcher.startUpkeep();
          unsubscribeStore = store.onChange(() => dispatcher.changedElsewhere());
          logger.info({ repo: opened.root, baseCommit: opened.baseCommit, stateDir, store: store.kind, nodeId: config.nodeId, remote: shared.remote, workers: workers.length }, 'initialized');
          return { workers };
        } catch (error) {
          // A refused or failed start leaves nothing held: the next start must not find this one's locks.
          await releaseHolds();
          throw error;
        }
      }),
      awaitIdle: fromPromise(() => whenTrue(async () => (await requireStore().inFlight(config.nodeId)).length === 0, events)),
      stopWorkers: fromPromise<void, StopWorkersInput>(async ({ input }) => {
        for (const ref of input.workers) if (ref.getSnapshot().status === 'active') ref.send({ type: 'worker.stop' });
        await Promise.all(input.workers.map((ref) => waitFor(ref, (s) => s.status === 'done', { timeout: Infinity })));
      }),
      closeResources: fromPromise(async () => {
        await reaper.runEnded(); // the workers are gone: whatever their tasks left goes too
        stopUpkeep();
        unsubscribeStore();
        dispatcher.stop();
        await dispatcher.flush();
        // A store that failed mid-run may fail here again: close what can be closed anyway,
        // and keep the first fault as the run's error (the summary falls back on the counts).
        const faulted = (error: unknown): undefined => {
          if (!faults.fatal(error)) throw error;
          return undefined;
        };
        await counts.refresh().catch(faulted);
        // The summary outlives the store: keep its last word before closing.
        if (store) finalTasks = await store.list().catch(faulted);
        // The store's close among them: a faulted store must not keep the locks from going.
        await releaseHolds().catch(faulted);
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
        throw new CoordError(isCoordErrorCode(error?.code) ? error.code : 'INTERNAL', error?.message ?? 'the supervisor failed to start', {
          ...(error?.details === undefined ? {} : { details: error.details }),
        });
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
      // A store fault while waiting ends the run (drain, then failed): wait for that instead.
      const untilEnd = (error: unknown): Promise<void> => (faults.fatal(error) ? finalState() : Promise.reject(error));
      await Promise.race([whenTrue(async () => ended() || (store !== undefined && (await store.isSettled())), events).catch(untilEnd), finalState()]);
      if (!ended()) await counts.refresh().catch(untilEnd);
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
        // What can still be read; if nothing can, the counts the supervisor last knew stand alone.
        tasks: finalTasks ?? (store ? await store.list().catch(() => []) : []),
        counts: counts.current(),
        usage,
        taskLogDir: repo ? taskLogDir() : null,
      });
    },
  };
}
