/**
 * The daemon's HTTP API (`--http HOST:PORT`), on fastify: the same commands as the socket
 * (through {@link ControlApi}), Prometheus `/metrics`, and the supervisor's events over a
 * WebSocket at `/events`. Every route but `GET /health` needs `Authorization: Bearer <token>`
 * (`?token=` is accepted on the WebSocket, which browsers cannot give headers). Errors are
 * JSON `{"error":{"code","message","details"}}` with a status from the code; no stack trace
 * ever leaves the process.
 */
import websocket from '@fastify/websocket';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { z } from 'zod';
import { CoordError, policyOf, toCoordError, type CoordErrorCode } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { SupervisorEventBus } from '../supervisor/events.js';
import type { ControlApi } from './control-api.js';
import { bearerMatches } from './token.js';
import type { InspectionHub } from '../inspect/hub.js';
import { InspectSessions } from './inspect-sessions.js';
import { registerInspectRoutes } from './inspect-routes.js';

/** A WebSocket client further behind than this is dropped. */
const MAX_CLIENT_BACKLOG_BYTES = 4 * 1024 * 1024;
/** A task file posted whole; larger graphs go in several posts. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

export interface HttpServerOptions {
  host: string;
  port: number;
  token: string;
  api: ControlApi;
  events: SupervisorEventBus;
  metrics: { contentType: string; render(): Promise<string> };
  logger: Logger;
  /** The inspection stream (null: inspection is off). */
  inspection: InspectionHub | null;
}

export interface HttpServer {
  /** `http://HOST:PORT` as bound (port 0 resolved). */
  readonly url: string;
  /** A one-time link to the inspector page (`coord inspect`). */
  inspectLink(): string;
  close(): Promise<void>;
}

/** The HTTP status for an error code. */
export function httpStatusOf(code: CoordErrorCode): number {
  switch (code) {
    case 'UNAUTHORIZED':
      return 401;
    case 'TASK_NOT_FOUND':
    case 'POOL_NOT_FOUND':
      return 404;
    case 'TASK_STATE_CONFLICT':
    case 'NOT_RUNNING':
    case 'TASK_EXISTS':
      return 409;
    case 'STORE_UNAVAILABLE':
      return 503;
    default:
      // What the policy calls the input's or the environment's to fix (exit 2) is the client's.
      return policyOf(code).exit === 2 ? 400 : 500;
  }
}

const SubmitBody = z.strictObject({ tasks: z.array(z.unknown()) });
const TasksQuery = z.strictObject({ status: z.string().optional(), token: z.string().optional() });
const LogQuery = z.strictObject({ attempt: z.coerce.number().int().min(1).optional(), token: z.string().optional() });
const DrainBody = z.strictObject({ deadlineMs: z.number().int().min(0).optional() }).optional();
const TaskParams = z.strictObject({ id: z.string().min(1).max(200) });
const PoolParams = z.strictObject({ id: z.string().min(1).max(64) });
const MessageBody = z.strictObject({ text: z.unknown() });
const UnblockBody = z.strictObject({ reason: z.string({ error: 'an override needs a reason' }) });

function validated<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new CoordError('BAD_REQUEST', `${what}: ${issue?.path.join('.') || what}: ${issue?.message ?? 'invalid'}`, {
    details: { issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) },
  });
}

function sendError(reply: FastifyReply, error: unknown): FastifyReply {
  const coded = toCoordError(error);
  const details = Object.keys(coded.details).length > 0 ? { details: coded.details } : {};
  return reply.code(httpStatusOf(coded.code)).type('application/json').send({ error: { code: coded.code, message: coded.message, ...details } });
}

/** Starts the HTTP API; resolves once it listens. */
export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const { api, token, logger } = options;
  const app: FastifyInstance = Fastify({ logger: false, bodyLimit: MAX_BODY_BYTES, return503OnClosing: true });
  await app.register(websocket, { options: { maxPayload: 64 * 1024 } });

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.url === '/health' || request.url.startsWith('/health?')) return;
    // The inspector's routes take its session cookie as well as the token (inspect-routes.ts).
    if (request.url === '/inspect' || request.url.startsWith('/inspect?') || request.url.startsWith('/inspect/')) return;
    const queryToken = (request.query as { token?: unknown } | undefined)?.token;
    const header = request.headers.authorization ?? (typeof queryToken === 'string' && request.headers.upgrade ? `Bearer ${queryToken}` : undefined);
    if (!bearerMatches(header, token)) {
      await sendError(reply, new CoordError('UNAUTHORIZED', 'this route needs "Authorization: Bearer <token>"; the token is in <state-dir>/http.token'));
    }
  });
  app.setErrorHandler((error, _request, reply) => {
    // fastify's own refusals (a body that is not JSON, too large) carry a 4xx status code.
    const status = (error as { statusCode?: number }).statusCode;
    if (!(error instanceof CoordError) && status !== undefined && status >= 400 && status < 500) {
      return reply.code(status).send({ error: { code: 'BAD_REQUEST', message: (error as Error).message } });
    }
    if (!(error instanceof CoordError)) logger.error({ err: error }, 'HTTP API error');
    return sendError(reply, error);
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: { code: 'BAD_REQUEST', message: `no route ${request.method} ${request.url.split('?')[0]}` } }),
  );

  app.get('/health', async (_request, reply) => {
    const { state } = api.status();
    return reply.code(state === 'running' ? 200 : 503).send({ ok: state === 'running', state });
  });
  app.get('/status', async () => api.status());
  app.get('/tasks', async (request) => api.tasks(validated(TasksQuery, request.query, 'query').status));
  app.get('/tasks/:id', async (request) => api.task(validated(TaskParams, request.params, 'path').id));
  app.post('/tasks', async (request, reply) => {
    const body = validated(SubmitBody, request.body, 'body');
    return reply.code(201).send(await api.submit(body.tasks));
  });
  app.post('/tasks/:id/cancel', async (request) => api.cancel(validated(TaskParams, request.params, 'path').id));
  app.post('/tasks/:id/redrive', async (request) => api.redrive(validated(TaskParams, request.params, 'path').id));
  app.get('/tasks/:id/messages', async (request) => api.messages(validated(TaskParams, request.params, 'path').id));
  app.post('/tasks/:id/messages', async (request, reply) => {
    const { id } = validated(TaskParams, request.params, 'path');
    const { text } = validated(MessageBody, request.body, 'body');
    return reply.code(201).send(await api.message(id, text));
  });
  app.post('/tasks/:id/unblock', async (request) => {
    const { id } = validated(TaskParams, request.params, 'path');
    return api.unblock(id, validated(UnblockBody, request.body, 'body').reason);
  });
  app.post('/drain', async (request) => api.drain(validated(DrainBody, request.body ?? undefined, 'body')?.deadlineMs));
  app.get('/tasks/:id/log', async (request, reply) => {
    const { id } = validated(TaskParams, request.params, 'path');
    const { attempt } = validated(LogQuery, request.query, 'query');
    const log = await api.log(id, attempt);
    return reply.type('text/plain; charset=utf-8').send(log.text);
  });
  app.get('/pools', async () => api.pools());
  app.get('/pools/:id/status', async (request) => api.pool(validated(PoolParams, request.params, 'path').id));
  app.get('/metrics', async (_request, reply) => reply.type(options.metrics.contentType).send(await options.metrics.render()));
  app.get('/events', { websocket: true }, (socket: WebSocket) => streamEvents(socket, options.events, logger));
  const sessions = new InspectSessions();
  registerInspectRoutes(app, { inspection: options.inspection, sessions, token });

  const address = await app.listen({ host: options.host, port: options.port });
  const bound = app.server.address();
  const url = typeof bound === 'object' && bound !== null ? `http://${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}` : address;
  return {
    url,
    inspectLink: () => `${url}/inspect?code=${sessions.issueCode()}`,
    async close() {
      for (const client of app.websocketServer?.clients ?? []) client.terminate();
      await app.close();
    },
  };
}

/** Every supervisor event to one WebSocket client, until it goes or falls too far behind. */
function streamEvents(socket: WebSocket, events: SupervisorEventBus, logger: Logger): void {
  const off = events.onAny((event, data) => {
    if (socket.readyState !== socket.OPEN) return;
    if (socket.bufferedAmount > MAX_CLIENT_BACKLOG_BYTES) {
      logger.warn({ backlog: socket.bufferedAmount }, 'dropped a WebSocket client that stopped reading');
      socket.terminate();
      return;
    }
    socket.send(JSON.stringify({ event, data, at: new Date().toISOString() }));
  });
  socket.on('close', off);
  socket.on('error', off);
}
