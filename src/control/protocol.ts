/**
 * The daemon's socket protocol: newline-delimited JSON on `<state-dir>/coord.sock`. Each line
 * a client writes is one request `{"id":…,"cmd":"…",…}`; each answer is one line
 * `{"id":…,"ok":true,"data":…}` or `{"id":…,"ok":false,"error":{"code":"…","message":"…"}}`.
 * After `subscribe` is answered, the connection also carries one `{"event":"coord:…","data":…}`
 * line per supervisor event. Requests are validated here; a line that is not one is answered
 * `BAD_REQUEST` and the connection stays usable.
 */
import { z } from 'zod';
import { CoordError, type CoordErrorCode } from '../errors.js';

/** A line longer than this is refused (`BAD_REQUEST`) without being parsed. */
export const MAX_REQUEST_BYTES = 1024 * 1024;

const RequestId = z.union([z.string().max(200), z.number()]);
/**
 * The task a `task`, `cancel` or `redrive` request names: `taskId`, or else the request's own
 * `id` (so `{"id":"build","cmd":"task"}` asks about task `build`).
 */
const TaskTarget = { taskId: z.string().min(1).max(200).optional() };

const Requests = [
  z.strictObject({ id: RequestId.optional(), cmd: z.literal('status') }),
  z.strictObject({ id: RequestId.optional(), cmd: z.literal('submit'), tasks: z.array(z.unknown()) }),
  z.strictObject({ id: RequestId.optional(), cmd: z.literal('tasks'), status: z.string().optional() }),
  z.strictObject({ id: RequestId.optional(), cmd: z.literal('task'), ...TaskTarget }),
  z.strictObject({ id: RequestId.optional(), cmd: z.literal('cancel'), ...TaskTarget }),
  z.strictObject({ id: RequestId.optional(), cmd: z.literal('redrive'), ...TaskTarget }),
  /** A message for an agent task's mailbox (`text`: at most the mailbox's maxMessageBytes). */
  z.strictObject({ id: RequestId.optional(), cmd: z.literal('message'), ...TaskTarget, text: z.unknown() }),
  /** An override of a loop safeguard's block; `reason` is required. */
  z.strictObject({ id: RequestId.optional(), cmd: z.literal('unblock'), ...TaskTarget, reason: z.unknown() }),
  z.strictObject({ id: RequestId.optional(), cmd: z.literal('drain'), deadlineMs: z.number().int().min(0).optional() }),
  z.strictObject({ id: RequestId.optional(), cmd: z.literal('stop') }),
  z.strictObject({ id: RequestId.optional(), cmd: z.literal('subscribe') }),
  /** Streams the inspection messages (src/inspect/types.ts), one per line, after the answer. */
  z.strictObject({ id: RequestId.optional(), cmd: z.literal('inspect') }),
  /** Every pool's readiness, or (`pool`) one pool's. */
  z.strictObject({ id: RequestId.optional(), cmd: z.literal('pools'), pool: z.string().min(1).max(64).optional() }),
  /** A one-time link to the inspector page (the daemon needs its HTTP server). */
  z.strictObject({ id: RequestId.optional(), cmd: z.literal('inspect-link') }),
] as const;

const RequestSchema = z.discriminatedUnion('cmd', Requests);

export type ControlRequest = z.output<typeof RequestSchema>;
export type ControlCommand = ControlRequest['cmd'];
export const CONTROL_COMMANDS = Requests.map((schema) => schema.shape.cmd.value) as readonly ControlCommand[];

export type ControlAnswer =
  | { id: string | number | null; ok: true; data: unknown }
  | { id: string | number | null; ok: false; error: { code: CoordErrorCode; message: string; details?: unknown } };

/** One event line on a subscribed connection. */
export interface EventLine {
  event: string;
  data: unknown;
  at: string;
}

/**
 * Parses one request line. Throws `BAD_REQUEST` (with the request's id in `details.id` when
 * one could be read) for anything that is not a valid request.
 */
export function parseRequest(line: string): ControlRequest {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    throw new CoordError('BAD_REQUEST', `not JSON: ${error instanceof Error ? error.message : String(error)}`, { details: { id: null } });
  }
  const id = typeof value === 'object' && value !== null && 'id' in value && (typeof value.id === 'string' || typeof value.id === 'number') ? value.id : null;
  const parsed = RequestSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const cmd = typeof value === 'object' && value !== null && 'cmd' in value ? value.cmd : undefined;
  if (typeof cmd !== 'string' || !(CONTROL_COMMANDS as readonly string[]).includes(cmd)) {
    throw new CoordError('BAD_REQUEST', `unknown command ${JSON.stringify(cmd ?? null)}: one of ${CONTROL_COMMANDS.join(', ')}`, { details: { id } });
  }
  const issue = parsed.error.issues[0];
  throw new CoordError('BAD_REQUEST', `${cmd}: ${issue?.path.join('.') || 'request'}: ${issue?.message ?? 'invalid'}`, {
    details: { id, issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) },
  });
}

/** The task a request names (see {@link TaskTarget}); `BAD_REQUEST` when it names none. */
export function targetTask(request: { id?: string | number | undefined; taskId?: string | undefined; cmd: string }): string {
  const taskId = request.taskId ?? (typeof request.id === 'string' ? request.id : undefined);
  if (taskId === undefined || taskId === '') throw new CoordError('BAD_REQUEST', `${request.cmd}: name the task in "taskId" (or in "id")`, { details: { id: request.id ?? null } });
  return taskId;
}
