/**
 * Parsing at the edge of a process. A message that does not parse is refused, never thrown:
 * the caller gets a {@link Refusal} to count and log, and, when the sender expected an
 * answer, a ready-made `coord:protocol-error` reply.
 */
import type { z } from 'zod';
import { REPLY_EXPECTED, type ParentMessageSchema, type WorkerMessageSchema } from './messages.js';

export interface Refusal {
  ok: false;
  /** Why the message was refused, short enough for a log line. */
  reason: string;
  /** The `type` field when the message had a string one. */
  refusedType: string | null;
  /** The reply to send back, or null when none is due. */
  reply: { type: 'coord:protocol-error'; code: 'PROTOCOL_INVALID'; message: string; refusedType: string | null } | null;
}

export type ParseResult<T> = { ok: true; message: T } | Refusal;

type AnyUnion = typeof ParentMessageSchema | typeof WorkerMessageSchema;

/** Parses one received message against `schema`, refusing (not throwing) on garbage. */
export function parseMessage<S extends AnyUnion>(schema: S, raw: unknown): ParseResult<z.output<S>> {
  const result = schema.safeParse(raw);
  if (result.success) return { ok: true, message: result.data as z.output<S> };
  const refusedType =
    typeof raw === 'object' && raw !== null && typeof (raw as { type?: unknown }).type === 'string'
      ? ((raw as { type: string }).type.slice(0, 64))
      : null;
  const reason = result.error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.join('.') || '(message)'}: ${issue.message}`)
    .join('; ');
  // A refused protocol-error is never answered: two confused ends must not ping-pong forever.
  const replyDue = refusedType !== null && REPLY_EXPECTED.has(refusedType);
  return {
    ok: false,
    reason,
    refusedType,
    reply: replyDue ? { type: 'coord:protocol-error', code: 'PROTOCOL_INVALID', message: reason, refusedType } : null,
  };
}
