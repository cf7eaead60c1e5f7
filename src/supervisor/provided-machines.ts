/**
 * The worker, breaker and fallback-chain machines with coord's effects provided: forking
 * the worker process, and logging and announcing what the machines decide. What a worker
 * machine emits for the outcome path (`task.result`, `task.lost`) is listened to by the
 * worker registry, not provided here.
 */
import { fromCallback } from 'xstate';
import { circuitBreakerMachine } from '../../machines/circuit-breaker.js';
import { fallbackChainMachine } from '../../machines/fallback-chain.js';
import { workerMachine, type ProcessCommand, type WorkerInput } from '../../machines/worker.js';
import type { Logger } from '../log/logger.js';
import { startWorkerProcess } from '../pool/run-process.js';
import type { SupervisorEventBus } from './events.js';
import type { ResolvedOptions } from './options.js';
import type { Run } from './run.js';

export interface ProvideDeps {
  config: ResolvedOptions;
  events: SupervisorEventBus;
  logger(): Logger;
  /** The started run (workers exist only once it does). */
  live(): Run;
  /** Asks for a dispatch pass (a breaker let work through again). */
  wake(): void;
}

/** The worker machine, forking real processes for the run. */
export function provideWorker({ config, events, logger, live }: ProvideDeps) {
  return workerMachine.provide({
    actors: { runProcess: fromCallback<ProcessCommand, WorkerInput>((args) => startWorkerProcess(live().processOptions, args)) },
    delays: {
      spawnTimeout: config.spawnTimeoutMs,
      shutdownGrace: config.shutdownGraceMs,
      killGrace: config.killGraceMs,
      heartbeatTimeout: config.heartbeatMs * config.missedHeartbeats,
    },
    actions: {
      reportReady: (_, { workerId, pid }) => events.emit('coord:worker-ready', { workerId, pid }),
      reportStaleResult: (_, { workerId, message, current }) => {
        // Normal after a stop, a drain deadline or a reaped lease: the attempt was taken back first.
        logger().debug({ workerId, taskId: message.taskId, lease: message.lease, current }, 'a late result for an attempt the worker no longer holds: ignored');
      },
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
export function provideBreaker({ events, logger, wake }: ProvideDeps) {
  return circuitBreakerMachine.provide({
    actions: {
      reportTransition: (_, { scope, from, to, reason }) => {
        logger()[to === 'open' ? 'warn' : 'info']({ scope, from, to, reason }, `circuit breaker ${scope}: ${from} -> ${to}`);
        events.emit('coord:breaker', { scope, from, to, reason });
        // A breaker leaving `open` may let waiting tasks through.
        if (to !== 'open') wake();
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
