/**
 * `createSupervisor()`: the wiring. It provides the pure machines in `machines/` with their
 * effects, and exposes the small API users drive: start, submit, status, drain, stop. The
 * coordinator's `initialize` opens the {@link Runtime} and builds the {@link Run} on it (the
 * outcome path, dispatch, breakers, upkeep); `closeResources` closes it.
 */
import { InspectionHub } from '../inspect/hub.js';
import { bridgeToStately } from '../inspect/stately-bridge.js';
import { mailboxesOf, postMessage, unblockTask } from './mailbox/operator.js';
import { createActor, fromPromise, waitFor, type AnyActorRef, type SnapshotFrom } from 'xstate';
import { coordinatorMachine, coordinatorStateOf, type CoordinatorState, type InitializeOutput, type StopWorkersInput } from '../../machines/coordinator.js';
import { CoordError } from '../errors.js';
import { silentLogger, type Logger } from '../log/logger.js';
import { strategyFor } from './coordination/placements.js';
import { whenTrue } from './counts-cache.js';
import { SupervisorEventBus } from './events.js';
import { FaultStop } from './fault-stop.js';
import { resolveOptions, type SupervisorOptions } from './options.js';
import { provideBreaker, provideFallback, provideWorker } from './provided-machines.js';
import { Run } from './run.js';
import { openRuntime } from './runtime.js';
import { onStore, redriveStored } from './stored-operations.js';
import { checkSubmission, parseSpecs, prepareAgentTasks } from './submission.js';
import { buildSummary } from './summary.js';
import type { CoordinatorActor, Supervisor } from './supervisor-api.js';
import type { TaskRecord, TaskStore } from '../store/task-store.js';
import { WorkerRegistry } from './worker-registry.js';
import { WorkerScaler } from './scaling.js';
import { applyLiveSettings } from './reconfigure.js';
import { poolsOf, someWorkerAccepts } from '../pools/layout.js';
import { withinPools } from '../pools/pool-strategy.js';
import { pollPoolReady } from '../pools/wait-for-pool.js';
import { canEverRun } from '../pool/assign.js';
import { FileExchange } from './file-exchange.js';
import { poolChanges } from './pools/pool-desk.js';

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
  const random = config.random ?? Math.random;
  const startedAt = new Date().toISOString();
  // Until start() knows the state directory, only a caller-supplied logger can be used.
  const bootLogger = config.logger ?? silentLogger();
  /** The started run; set once by `initialize`, kept after the close for the summary. */
  let run: Run | undefined;
  let protocolRefusals = 0;
  const files = new FileExchange(config, events);
  const pools = poolsOf(config);
  const declaredPools = pools[0]?.declared === true;
  const baseStrategy = config.strategy ?? strategyFor(config.assignment, events, (id) => !registry.gone(id));
  // Only a pool with an agent can refuse a worker's task: without one, dispatch pays nothing for pools.
  const strategy = pools.some((pool) => pool.agent !== null) ? withinPools(baseStrategy, pools, (id) => run?.pools.poolOf(id)) : baseStrategy;

  const logger = (): Logger => run?.logger ?? bootLogger;
  const live = (): Run => {
    if (!run) throw new CoordError('NOT_RUNNING', 'the supervisor has not been started');
    return run;
  };
  const faults = new FaultStop({
    logger,
    stop: (error) => actor.send({ type: 'coordinator.fault', error: { code: error.code, message: error.message } }),
  });
  const childOf = (id: string): AnyActorRef | undefined => actor.getSnapshot().children[id] as AnyActorRef | undefined;

  const machines = { config, logger, live, events, wake: () => run?.dispatcher.schedule() };
  const coordinator = coordinatorMachine.provide({
    actors: {
      worker: provideWorker(machines),
      breaker: provideBreaker(machines),
      fallback: provideFallback(machines),
      initialize: fromPromise<InitializeOutput>(async () => {
        const runtime = await openRuntime(config, pools, faults, random);
        run = new Run(runtime, {
          config, events, workers: registry, faults, strategy,
          addWorkers: (workers) => actor.send({ type: 'workers.add', workers }),
          onHeartbeat: (workerId) => files.heartbeat(workerId),
          stopWith: (error) => actor.send({ type: 'coordinator.fault', error: { code: error.code, message: error.message } }),
          children: {
            child: childOf,
            spawnBreaker: (scope) => actor.send({ type: 'breaker.ensure', scope }),
            spawnFallback: (taskId, key) => actor.send({ type: 'fallback.ensure', taskId, key }),
          },
          accepting: () => coordinatorStateOf(actor.getSnapshot()) === 'running',
          onRefused: (workerId, refusal) => {
            protocolRefusals += 1;
            logger().warn({ workerId, reason: refusal.reason, refusedType: refusal.refusedType }, 'refused a malformed message from a worker');
            events.emit('coord:protocol-refused', { workerId, reason: refusal.reason, refusedType: refusal.refusedType });
          },
        });
        let spawnNow;
        try {
          await run.open();
          spawnNow = await run.pools.open(runtime.workers);
        } catch (error) {
          await run.close().catch(() => undefined);
          throw error;
        }
        files.openOutputs({
          stateDir: runtime.stateDir, logger: runtime.logger,
          taskSummary: async (taskId) => (await api.summary({ ids: [taskId] })).tasks[0],
          worker: (workerId) => registry.describe().find((w) => w.id === workerId),
        });
        return { workers: spawnNow };
      }),
      awaitIdle: fromPromise(async () => {
        const { store } = live().runtime;
        await whenTrue(async () => (await store.inFlight(config.nodeId)).length === 0, events);
      }),
      stopWorkers: fromPromise<void, StopWorkersInput>(async ({ input }) => {
        for (const ref of input.workers) if (ref.getSnapshot().status === 'active') ref.send({ type: 'worker.stop' });
        await Promise.all(input.workers.map((ref) => waitFor(ref, (s) => s.status === 'done', { timeout: Infinity })));
      }),
      closeResources: fromPromise(async () => {
        await files.closeInbox();
        await run?.close();
        await files.closeOutputs();
      }),
    },
    actions: {
      // Starts a job on the store; what it sends to workers it sends after its first await.
      cancelInFlight: (_, { reason }) => live().cancelInFlight(reason === 'stop' ? 'stop requested' : 'drain deadline reached'),
    },
  });

  const inspection = config.inspect ? new InspectionHub() : null;
  const actor: CoordinatorActor = createActor(coordinator, {
    ...(inspection === null ? {} : { inspect: inspection.observer }),
    input: {
      drainDeadlineMs: config.drainDeadlineMs,
      breaker: config.breaker,
      fallback: { maxResumes: config.fallback.maxResumes, staleAfterMs: config.fallback.staleAfterMs },
    },
  });
  let lastState: CoordinatorState | undefined;
  actor.subscribe((snapshot: SnapshotFrom<typeof coordinator>) => {
    registry.sync(snapshot.context.workers, {
      onIdle: () => run?.dispatcher.schedule(),
      onFailed: (workerId, exit) => {
        events.emit('coord:worker-failed', { workerId, code: exit?.code ?? null, signal: exit?.signal ?? null });
        actor.send({ type: 'worker.failed', workerId });
      },
      onResult: (workerId, message) => live().workerResult(workerId, message),
      onLost: (workerId, task, exit, hung) => live().workerLost(workerId, task, { ...exit, hung }),
    });
    const state = coordinatorStateOf(snapshot);
    if (state !== lastState) {
      if (state === 'running' && lastState === 'init') startedRunning();
      lastState = state;
      logger().info({ state }, 'coordinator state');
      events.emit('coord:state', { state });
    }
  });
  registry.onGone((workerId) => actor.send({ type: 'workers.remove', workerId }));
  const scaler = new WorkerScaler({
    registry,
    prepare: (workerId) => live().runtime.prepareWorker(workerId),
    add: (workers) => actor.send({ type: 'workers.add', workers }),
    running: () => coordinatorStateOf(actor.getSnapshot()) === 'running',
    events,
    logger,
  });
  registry.onRetired((workerId) => {
    events.emit('coord:worker-failed', { workerId, code: null, signal: null });
    actor.send({ type: 'worker.failed', workerId });
  });

  /** Once running: the pools' setups start, and the inbox is read (it submits through `submit`). */
  function startedRunning(): void {
    if (run === undefined) return;
    run.pools.startSetups();
    files.startInbox({ logger: run.logger, submit: (specs) => api.submit(specs) });
  }

  const finalState = (): Promise<void> => waitFor(actor, (s) => s.status === 'done', { timeout: Infinity }).then(() => undefined);
  const ended = (): boolean => actor.getSnapshot().status === 'done';
  const requireRunning = (): Run => {
    const state = coordinatorStateOf(actor.getSnapshot());
    if (state !== 'running') throw new CoordError('NOT_RUNNING', `cannot submit tasks while the supervisor is ${state}`);
    return live();
  };

  const api: Supervisor = {
    actor,
    events,
    inspection,
    async start() {
      if (inspection !== null && config.inspectBridge !== undefined) {
        const stopBridge = bridgeToStately(inspection, config.inspectBridge, logger());
        void finalState().then(stopBridge);
      }
      actor.start();
      const snapshot = await waitFor(actor, (s) => coordinatorStateOf(s) !== 'init', { timeout: Infinity });
      const error = snapshot.context.error;
      if (coordinatorStateOf(snapshot) === 'failed') {
        throw new CoordError(error?.code ?? 'INTERNAL', error?.message ?? 'the supervisor failed to start', {
          ...(error?.details === undefined ? {} : { details: error.details }),
        });
      }
    },
    async submit(tasks) {
      const current = requireRunning();
      const specs = prepareAgentTasks(parseSpecs(tasks), config);
      const { repo, store, logger: log } = current.runtime;
      // Declared pools say what can ever run; the implicit pool's workers (scaled live) say it themselves.
      const slots = registry.slots();
      await checkSubmission(specs, repo, store, declaredPools ? (spec) => someWorkerAccepts(spec, pools) : (spec) => canEverRun(spec, slots));
      const added = await current.outcomes.submit(specs);
      log.info({ added: added.length }, 'tasks submitted');
      return added;
    },
    status() {
      return {
        state: coordinatorStateOf(actor.getSnapshot()),
        workers: [...registry.describe().map((w) => ({ ...w, pool: run?.pools.poolOf(w.id) ?? 'default' })), ...(run?.pools.waiting() ?? [])],
        pools: run?.pools.statuses() ?? [],
        counts: run?.counts.current() ?? {},
        breakers: run?.breakers.describe() ?? [],
        protocolRefusals,
        liveness: Object.fromEntries(run?.outcomes.liveness ?? []),
        paths: run?.runtime.paths ?? null,
        ...(run?.coordination.summary() ?? { rateLimits: [], budgets: [], merge: null, conflicts: [] }),
        held: Object.fromEntries([...(run?.dispatcher.holds() ?? [])].map(([id, held]) => [id, { code: held.code, scope: held.scope }])),
      };
    },
    async settled() {
      // Either every task is terminal, or the run ended (failed, stopped) with some that are not.
      // A store fault while waiting ends the run (drain, then failed): wait for that instead.
      const untilEnd = (error: unknown): Promise<void> => (faults.fatal(error) ? finalState() : Promise.reject(error));
      const settledNow = async (): Promise<boolean> => ended() || (run !== undefined && run.idle() && (await run.runtime.store.isSettled()));
      await Promise.race([whenTrue(settledNow, events).catch(untilEnd), finalState()]);
      if (!ended()) await live().counts.refresh().catch(untilEnd);
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
      // A stopped supervisor (or one never started) applies a redrive to its store directly:
      // the next start, or a supervisor running elsewhere on the same store, runs the tasks.
      const changed = run && !run.closed ? await run.outcomes.redrive(taskId) : await redriveStored(config, run?.runtime.stateDir, taskId, random);
      if (changed.length === 0) throw new CoordError('TASK_NOT_FOUND', `task "${taskId}" is not dead (or does not exist): nothing to redrive`);
      logger().info({ taskId, changed }, 'redrove a dead task');
      return changed;
    },
    async cancel(taskId) {
      // An unknown task is TASK_NOT_FOUND from the store; a terminal one changes nothing.
      const running = run && !run.closed ? run : undefined;
      const cancelOn = async (store: TaskStore, cancel: () => Promise<string[]>): Promise<string[]> => {
        const changed = await cancel();
        if (changed.length > 0) return changed;
        const status = (await store.get(taskId))?.status ?? 'gone';
        throw new CoordError('TASK_STATE_CONFLICT', `task "${taskId}" is ${status}: only a task that is not finished can be cancelled`, { details: { taskId, status } });
      };
      return running
        ? cancelOn(running.runtime.store, () => running.outcomes.cancel(taskId))
        : onStore(config, run?.runtime.stateDir, random, (store) => cancelOn(store, () => store.cancel(taskId, Date.now())));
    },
    setWorkers(count) {
      if (declaredPools) return Promise.reject(new CoordError('USAGE', 'the workers are laid out by pools: change a pool\'s workers in the config and restart'));
      return scaler.scale(count);
    },
    pools() {
      return live().pools.statuses();
    },
    pool(id) {
      return live().pools.status(id);
    },
    waitForPool(id, options = {}) {
      return pollPoolReady(id, async () => {
        if (ended() || run === undefined) throw new CoordError('NOT_RUNNING', `the supervisor is ${coordinatorStateOf(actor.getSnapshot())}: pool "${id}" will not get ready`);
        return run.pools.status(id);
      }, { ...options, changes: poolChanges(events, id) });
    },
    async message(taskId, text) {
      if (run && !run.closed) return run.deliveries.post(taskId, text);
      return onStore(config, run?.runtime.stateDir, random, (store) => postMessage(store, taskId, text, { maxBytes: config.mailbox.maxMessageBytes, now: Date.now() }));
    },
    async unblock(taskId, reason) {
      const running = run && !run.closed ? run : undefined;
      const override = running
        ? await unblockTask(running.runtime.store, taskId, reason, Date.now())
        : await onStore(config, run?.runtime.stateDir, random, (store) => unblockTask(store, taskId, reason, Date.now()));
      logger().warn({ taskId, code: override.code, reason: override.reason }, 'a loop safeguard was overridden');
      events.emit('coord:overridden', { taskId, code: override.code, reason: override.reason });
      running?.deliveries.poke();
      await running?.counts.refresh().catch(() => undefined);
      return override;
    },
    reconfigure(settings) {
      const current = live();
      return applyLiveSettings({
        config, logger: current.logger, store: current.runtime.store, limits: current.limits,
        scale: (count) => scaler.scale(count),
        configureCoordinator: (change) => actor.send({ type: 'coordinator.configure', ...change }),
        configureBreakers: (breaker) => current.breakers.configureAll(breaker),
        configureGates: (change) => current.coordination.configure(change),
        events,
      }, settings);
    },
    async summary(filter) {
      const snapshot = actor.getSnapshot();
      const chosen = (tasks: TaskRecord[]): TaskRecord[] => {
        const ids = filter?.ids === undefined ? null : new Set(filter.ids);
        return tasks.filter((task) => (ids === null || ids.has(task.spec.id)) && (filter?.status === undefined || task.status === filter.status));
      };
      const tasks = run ? chosen(await tasksFor(run, filter?.ids).catch(() => [])) : [];
      return buildSummary({
        state: coordinatorStateOf(snapshot),
        error: snapshot.context.error,
        repo: run?.runtime.repo,
        startedAt,
        workers: registry.describe(),
        // What can still be read; if nothing can, the counts the supervisor last knew stand alone.
        tasks,
        counts: run?.counts.current() ?? {},
        usage: run?.outcomes.usage ?? { of: () => undefined, sessionOf: () => undefined },
        liveness: run?.outcomes.liveness ?? new Map(),
        taskLogDir: run?.runtime.taskLogDir ?? null,
        // What can still be read: a closed run's store is gone, and so are its mailboxes.
        mailboxes: run && !run.closed ? await mailboxesOf(run.runtime.store, tasks).catch(() => new Map()) : new Map(),
        holds: run?.dispatcher.holds() ?? new Map(),
        coordination: run?.coordination.summary(),
        mergeOf: (taskId) => run?.coordination.merge?.state(taskId) ?? null,
      });
    },
  };
  return api;
}

/** The tasks a summary lists: those named read one by one from a live store (a task lookup must not list the whole store), else all. */
async function tasksFor(run: Run, ids: readonly string[] | undefined): Promise<TaskRecord[]> {
  if (ids === undefined || run.closed) return run.tasks();
  const found = await Promise.all(ids.map((id) => run.runtime.store.get(id)));
  return found.filter((task): task is TaskRecord => task !== undefined);
}
