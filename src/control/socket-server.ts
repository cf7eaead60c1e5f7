/**
 * The daemon's Unix socket: `<state-dir>/coord.sock`, mode 0600, speaking the NDJSON protocol
 * of protocol.ts. At start a socket file that accepts a connection belongs to a live daemon
 * (`DAEMON_RUNNING`); one that does not is stale and is removed. Each connection's requests
 * are answered in order; a bad line is answered `BAD_REQUEST` and the connection goes on; a
 * subscribed connection that stops reading is dropped rather than buffered without end.
 */
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { CoordError, toCoordError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { SupervisorEventBus } from '../supervisor/events.js';
import { LineSplitter } from './line-splitter.js';
import type { InspectionHub } from '../inspect/hub.js';
import { MAX_REQUEST_BYTES, parseRequest, type ControlAnswer, type ControlRequest } from './protocol.js';

/** Unix socket paths longer than this do not fit `sockaddr_un` on every platform. */
const MAX_SOCKET_PATH = 103;
/** A subscriber further behind than this is dropped. */
const MAX_SUBSCRIBER_BACKLOG_BYTES = 8 * 1024 * 1024;

export interface SocketServerOptions {
  path: string;
  /** Answers one validated request (not `subscribe`, which the server handles). */
  handle(request: ControlRequest): Promise<unknown>;
  events: SupervisorEventBus;
  /** The inspection stream for `inspect` (null: inspection is off). */
  inspection?: InspectionHub | null;
  logger: Logger;
}

export interface SocketServer {
  readonly path: string;
  /** Stops listening, ends every connection and removes the socket file. */
  close(): Promise<void>;
}

/** Whether something accepts connections on the socket at `path`. */
export function socketAnswers(path: string, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(path);
    const done = (answer: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Listens on `options.path`, refusing with `DAEMON_RUNNING` when a live daemon holds it. */
export async function listenControlSocket(options: SocketServerOptions): Promise<SocketServer> {
  const { path, logger } = options;
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
    throw new CoordError('CONFIG_INVALID', `the socket path ${path} is longer than ${MAX_SOCKET_PATH} bytes, which Unix sockets do not allow: use a shorter --state-dir`, { details: { path } });
  }
  if (existsSync(path)) {
    if (await socketAnswers(path)) {
      throw new CoordError('DAEMON_RUNNING', `a coord daemon is already running on ${path} (coord daemon status tells which; coord daemon stop stops it)`, { details: { socket: path } });
    }
    logger.info({ socket: path }, 'removed a stale socket left by a daemon that is gone');
    unlinkSync(path);
  }
  const connections = new Set<net.Socket>();
  const server = net.createServer((socket) => serveConnection(socket, options, connections));
  // Created 0600: the umask covers the moment between bind and chmod.
  const umask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } finally {
    process.umask(umask);
  }
  chmodSync(path, 0o600);
  server.on('error', (error) => logger.error({ err: error, socket: path }, 'control socket error'));
  return {
    path,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of connections) socket.destroy();
      await closed;
      try {
        unlinkSync(path);
      } catch {
        // already gone (server.close removes it on some platforms)
      }
    },
  };
}

function serveConnection(socket: net.Socket, options: SocketServerOptions, connections: Set<net.Socket>): void {
  connections.add(socket);
  const splitter = new LineSplitter(MAX_REQUEST_BYTES);
  let queue = Promise.resolve();
  let unsubscribe: (() => void) | undefined;
  let stopInspecting: (() => void) | undefined;
  const write = (value: unknown): void => {
    if (!socket.destroyed && socket.writable) socket.write(`${JSON.stringify(value)}\n`);
  };
  const answer = (id: string | number | null, outcome: { data: unknown } | { error: unknown }): void => {
    if ('data' in outcome) {
      write({ id, ok: true, data: outcome.data ?? null } satisfies ControlAnswer);
      return;
    }
    const error = toCoordError(outcome.error);
    write({ id, ok: false, error: { code: error.code, message: error.message, ...(error.details === undefined ? {} : { details: error.details }) } } satisfies ControlAnswer);
  };
  const handleLine = async (line: string): Promise<void> => {
    if (line.trim() === '') return;
    let request: ControlRequest;
    try {
      request = parseRequest(line);
    } catch (error) {
      const id = (toCoordError(error).details as { id?: string | number | null } | undefined)?.id ?? null;
      answer(id, { error });
      return;
    }
    const id = request.id ?? null;
    if (request.cmd === 'subscribe') {
      unsubscribe ??= options.events.onAny((event, data) => {
        write({ event, data, at: new Date().toISOString() });
        if (socket.writableLength > MAX_SUBSCRIBER_BACKLOG_BYTES) {
          options.logger.warn({ backlog: socket.writableLength }, 'dropped a socket subscriber that stopped reading');
          socket.destroy();
        }
      });
      answer(id, { data: { subscribed: true } });
      return;
    }
    if (request.cmd === 'inspect') {
      const hub = options.inspection ?? null;
      if (hub === null) {
        answer(id, { error: new CoordError('NOT_RUNNING', 'inspection is off in this daemon (inspect: false)') });
        return;
      }
      answer(id, { data: { subscribed: true } });
      // After the answer: the replay of live actors, then every message, one per line.
      stopInspecting ??= hub.subscribe({ send: (text) => { if (!socket.destroyed && socket.writable) socket.write(`${text}\n`); }, backlog: () => socket.writableLength });
      return;
    }
    try {
      answer(id, { data: await options.handle(request) });
    } catch (error) {
      answer(id, { error });
    }
  };
  socket.on('data', (chunk: Buffer) => {
    for (const item of splitter.push(chunk)) {
      queue = queue.then(() =>
        item.kind === 'line'
          ? handleLine(item.line)
          : answer(null, { error: new CoordError('BAD_REQUEST', `request line of ${item.bytes} bytes is over the ${MAX_REQUEST_BYTES}-byte limit`) }),
      );
    }
  });
  // A client that goes away mid-stream harms nothing: its subscription ends with it.
  socket.on('error', () => undefined);
  socket.on('close', () => {
    unsubscribe?.();
    stopInspecting?.();
    connections.delete(socket);
  });
}
