/**
 * The worker, breaker and fallback-chain machines with coord's effects provided: forking
 * the worker process, and reporting what the machines decide to the dispatcher, the log
 * and the event bus.
 */
import { circuitBreakerMachine } from '../../machines/circuit-breaker.js';
import { fallbackChainMachine } from '../../machines/fallback-chain.js';
import { workerMachine } from '../../machines/worker.js';
import type { Logger } from '../log/logger.js';
import type { createRunProcess } from '../pool/run-process.js';
import type { Dispatcher } from './dispatcher.js';
import type { SupervisorEventBus } from './events.js';
import type { ResolvedOptions } from './options.js';
import type { TaskReaper } from './task-reaper.js';

export interface ProvideDeps {
  config: ResolvedOptions;
  runProcess: ReturnType<typeof createRunProcess>;
  dispatcher: Dispatcher;
  events: SupervisorEventBus;
  reaper: TaskReaper;
  logger(): Logger;
}

/** The worker machine, forking real processes and reporting to the dispatcher. */
export function provideWorker({ config, runProcess, dispatcher, events, reaper, logger }: ProvideDeps) {
  return workerMachine.provide({
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
        logger().warn({ workerId, taskId: message.taskId, lease: message.lease, current }, 'ignored a result with a stale lease');
      },
      reportTaskLost: (_, { workerId, task, exit, hung }) => queueMicrotask(() => {
        // The worker is dead: the attempt's processes outside its group are killed here (synchronously, before any retry).
        void reaper.attemptLost(workerId, task);
        dispatcher.lost(workerId, task, { ...exit, hung });
      }),
      reportRestart: (_, { workerId, restart, delayMs, exit, cause }) => {
        logger().warn({ workerId, restart, delayMs, cause, ...exit }, `restarting worker (death charged to: ${cause})`);
        events.emit('coord:worker-restarting', { workerId, restart, delayMs, code: exit.code, signal: exit.signal, cause });
      },
      reportCoolingDown: (_, { workerId, coolDown, delayMs, exit }) => {
        logger().error({ workerId, coolDown, delayMs, ...exit }, `worker out of restart intensity: cooling down for ${delayMs} ms`);
        events.emit('coord:worker-cooling', { workerId, coolDown, delayMs, code: exit.code, signal: exit.signal });
      },
      reportHung: (_, { workerId, lastHeartbeatAt }) => {
        logger().error({ workerId, lastHeartbeatAt }, 'worker stopped heartbeating: killing it');
        events.emit('coord:worker-hung', { workerId, lastHeartbeatAt });
      },
      reportExit: (_, { workerId, exit, duringShutdown }) => {
        logger()[duringShutdown ? 'info' : 'error']({ workerId, ...exit }, duringShutdown ? 'worker exited' : 'worker died');
        events.emit('coord:worker-exited', { workerId, code: exit.code, signal: exit.signal });
      },
    },
  });
}

/** The circuit breaker, logging each transition and waking dispatch when one closes. */
export function provideBreaker({ dispatcher, events, logger }: ProvideDeps) {
  return circuitBreakerMachine.provide({
    actions: {
      reportTransition: (_, { scope, from, to, reason }) => {
        logger()[to === 'open' ? 'warn' : 'info']({ scope, from, to, reason }, `circuit breaker ${scope}: ${from} -> ${to}`);
        events.emit('coord:breaker', { scope, from, to, reason });
        // A breaker leaving `open` may let waiting tasks through.
        if (to !== 'open') dispatcher.schedule();
      },
    },
  });
}

/** The fallback chain, logging each hop (the dispatcher reads the chain's stage itself). */
export function provideFallback({ logger }: ProvideDeps) {
  const hop = (taskId: string, stage: string): void => logger().info({ taskId, stage }, `fallback chain of ${taskId}: ${stage}`);
  return fallbackChainMachine.provide({
    actions: {
      retryLive: (_, { taskId }) => hop(taskId, 'live retry on the same worker'),
      resumeOnWorker: (_, { taskId, resumeCount }) => hop(taskId, `resume ${resumeCount} on the same worker`),
      respawnElsewhere: (_, { taskId }) => hop(taskId, 'respawn on a fresh worker with a summary'),
      deadLetter: (_, { taskId, hops }) => logger().warn({ taskId, hops }, `fallback chain of ${taskId} exhausted`),
    },
  });
}
