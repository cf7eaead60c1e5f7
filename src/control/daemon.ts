/**
 * `coord daemon start` in the foreground: a long-lived supervisor for one repository with its
 * control plane around it — the socket (first, so a second daemon is refused before it
 * touches anything), the supervisor, the facts file, the HTTP API when `--http` is given, and
 * the config reload. SIGTERM/SIGINT drain (a second SIGINT stops at once), as does the
 * socket's `drain`; when the supervisor has stopped everything is closed and removed again.
 */
import { drainOnSignals } from '../supervisor/signals.js';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { followConfigFile } from '../config/follow.js';
import { parseHttpAddress } from '../config/http-address.js';
import type { RunConfig } from '../config/run-options.js';
import { CoordError, policyOf, toCoordError } from '../errors.js';
import { createLogger, type Logger } from '../log/logger.js';
import { createSupervisor } from '../supervisor/supervisor.js';
import type { Supervisor } from '../supervisor/supervisor-api.js';
import { ControlApi, type DaemonFacts } from './control-api.js';
import { daemonFilesOf, removeDaemonFacts, writeDaemonFacts } from './daemon-files.js';
import { startHttpServer, type HttpServer } from './http-server.js';
import { createMetrics } from './metrics.js';
import { targetTask, type ControlRequest } from './protocol.js';
import { listenControlSocket, type SocketServer } from './socket-server.js';
import { ensureToken } from './token.js';

export interface DaemonOptions {
  /** The configuration (flags, env and the config file); its file, if any, is followed live. */
  config: RunConfig;
  stateDir: string;
  /** `HOST:PORT` for the HTTP API, or null for none. */
  http: string | null;
  /** Called once everything listens (the CLI prints where). */
  onReady?(facts: DaemonFacts): void;
  /** How long the config watch waits for edits to settle (default 500 ms). */
  configDebounceMs?: number;
}

/** Follows the config file: live settings go to the supervisor, and each reload or rejection is an event. */
async function followConfig(config: RunConfig, supervisor: Supervisor, logger: Logger, debounceMs: number | undefined): Promise<() => Promise<void>> {
  const file = config.file as string;
  const follower = followConfigFile(config, {
    reconfigure: async (live) => {
      await supervisor.reconfigure(live);
    },
    logger,
    ...(debounceMs === undefined ? {} : { debounceMs }),
    onReloaded: ({ applied, restart }) => supervisor.events.emit('coord:config-reloaded', { file, applied, restart }),
    onRejected: (error) => {
      const err = toCoordError(error);
      supervisor.events.emit('coord:config-rejected', { file, error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } });
    },
  });
  await follower.ready;
  logger.info({ file }, 'following the config file');
  return () => follower.close();
}

/** Runs the daemon until it stops; resolves with its exit code (0 stopped, else the error's). */
export async function runDaemon(daemon: DaemonOptions): Promise<number> {
  const files = daemonFilesOf(daemon.stateDir);
  const listen = daemon.http === null ? null : parseHttpAddress(daemon.http);
  mkdirSync(path.dirname(files.log), { recursive: true });
  const { options } = daemon.config;
  const logger = createLogger({ file: files.log, level: options.logLevel ?? 'info', stderrLevel: 'warn' });
  // A daemon reads its inbox and writes its files for readers unless the config says not to.
  const supervisor = createSupervisor({
    ...options, stateDir: daemon.stateDir, logger,
    inbox: options.inbox ?? path.join(daemon.stateDir, 'inbox'), fileOutputs: options.fileOutputs ?? true,
  });
  const startedAt = new Date().toISOString();
  let httpServer: HttpServer | null = null;
  const facts = (): DaemonFacts => ({ pid: process.pid, startedAt, socket: files.socket, http: httpServer?.url ?? null });
  const api = new ControlApi(supervisor, facts);

  const socket: SocketServer = await listenControlSocket({
    path: files.socket,
    events: supervisor.events,
    inspection: supervisor.inspection,
    logger,
    handle: async (request) => {
      if (request.cmd !== 'inspect-link') return answer(api, request);
      if (httpServer === null) throw new CoordError('NOT_RUNNING', 'the inspector is served by the daemon\'s HTTP server: start the daemon with --http HOST:PORT (e.g. --http 127.0.0.1:0)');
      return { url: httpServer.inspectLink() };
    },
  });
  const closers: Array<() => Promise<void> | void> = [() => socket.close()];
  const closeAll = async (): Promise<void> => {
    for (const close of closers.splice(0).reverse()) await Promise.resolve(close()).catch((error: unknown) => logger.warn({ err: error }, 'closing the daemon'));
  };
  const stopped = new Promise<void>((resolve) =>
    supervisor.events.on('coord:state', ({ state }) => (state === 'stopped' || state === 'failed') && resolve()),
  );
  const removeSignals = onSignals(supervisor, logger);
  try {
    await supervisor.start();
    writeDaemonFacts(files.facts, facts());
    closers.push(() => removeDaemonFacts(files.facts));
    if (listen) {
      const metrics = createMetrics(supervisor);
      closers.push(() => metrics.close());
      httpServer = await startHttpServer({
        ...listen, token: ensureToken(daemon.stateDir), api, events: supervisor.events, logger, inspection: supervisor.inspection,
        metrics: { contentType: metrics.contentType, render: () => metrics.render() },
      });
      const server = httpServer;
      closers.push(() => server.close());
      writeDaemonFacts(files.facts, facts());
    }
    if (daemon.config.file !== null) closers.push(await followConfig(daemon.config, supervisor, logger, daemon.configDebounceMs));
    logger.info({ ...facts(), paths: supervisor.status().paths }, 'daemon running');
    daemon.onReady?.(facts());
    await stopped;
  } catch (error) {
    await closeAll();
    removeSignals();
    if (supervisor.status().state === 'running') await supervisor.stop();
    logger.flush?.();
    throw error;
  }
  await closeAll();
  removeSignals();
  const { coordinator } = await supervisor.summary({ ids: [] });
  logger.info({ state: coordinator.state, error: coordinator.error }, 'daemon stopped');
  logger.flush?.();
  return coordinator.state === 'failed' && coordinator.error ? policyOf(coordinator.error.code).exit : 0;
}

/** One socket request, answered through the API. */
async function answer(api: ControlApi, request: ControlRequest): Promise<unknown> {
  switch (request.cmd) {
    case 'status':
      return api.status();
    case 'submit':
      return api.submit(request.tasks);
    case 'tasks':
      return api.tasks(request.status);
    case 'task':
      return api.task(targetTask(request));
    case 'cancel':
      return api.cancel(targetTask(request));
    case 'redrive':
      return api.redrive(targetTask(request));
    case 'message':
      return api.message(targetTask(request), request.text);
    case 'unblock':
      return api.unblock(targetTask(request), request.reason);
    case 'pools':
      return request.pool === undefined ? api.pools() : api.pool(request.pool);
    case 'drain':
      return api.drain(request.deadlineMs);
    case 'stop':
      return api.stop();
    case 'subscribe':
    case 'inspect':
      throw new CoordError('INTERNAL', `${request.cmd} is the socket server's`);
    case 'inspect-link':
      throw new CoordError('INTERNAL', 'inspect-link is the daemon\'s');
  }
}

/** First SIGTERM/SIGINT drains; a second SIGINT stops at once. */
function onSignals(supervisor: Supervisor, logger: Logger): () => void {
  return drainOnSignals(supervisor, {
    draining: (signal) => logger.info({ signal }, 'draining: running tasks may finish (SIGINT again stops now)'),
    stopping: (signal) => logger.info({ signal }, 'stopping now'),
  });
}
