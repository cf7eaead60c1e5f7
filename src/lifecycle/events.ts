/**
 * The lines a store writes to its own event log, in the transaction of the change they
 * describe: the plans log them (see draft.ts), one builder per event type, so the log reads
 * the same whatever store holds it. Heartbeats (`extendLeases`) and retry promotions are not
 * logged: they would drown the log and change no verdict.
 */
import type { Deferral, FailOutcome, Failure } from './outcomes.js';
import type { TaskError } from './task-record.js';

/** Every event type a store writes itself (callers add their own through `appendEvent`). */
export const STORE_EVENT_TYPES = [
  'task.submitted',
  'task.claimed',
  'task.started',
  'task.completed',
  'task.failed',
  'task.blocked',
  'task.released',
  'task.deferred',
  'task.cancelled',
  'task.redriven',
  'task.unblocked',
  'task.reopened',
  'task.overridden',
] as const;

/** A store-written event type. */
export type StoreEventType = (typeof STORE_EVENT_TYPES)[number];

/** An event line before the store numbers it (a `StoredEvent` without its `id`). */
export interface NewEvent {
  at: number;
  type: string;
  taskId: string | null;
  nodeId: string | null;
  data: Record<string, unknown>;
}

function event(type: StoreEventType, at: number, taskId: string, nodeId: string | null, data: Record<string, unknown>): NewEvent {
  return { at, type, taskId, nodeId, data };
}

/** The builders, one per {@link StoreEventType}. */
export const storeEvents = {
  submitted: (taskId: string, now: number): NewEvent => event('task.submitted', now, taskId, null, {}),

  claimed: (taskId: string, nodeId: string, workerId: string, attempt: number, expiresAt: number, now: number): NewEvent =>
    event('task.claimed', now, taskId, nodeId, { attempt, worker: workerId, expiresAt }),

  started: (taskId: string, nodeId: string | null, attempt: number, now: number): NewEvent =>
    event('task.started', now, taskId, nodeId, { attempt }),

  completed: (taskId: string, nodeId: string | null, attempt: number, exitCode: number | null, now: number): NewEvent =>
    event('task.completed', now, taskId, nodeId, { attempt, exitCode }),

  failed: (
    taskId: string,
    nodeId: string | null,
    attempt: number,
    failure: Pick<Failure, 'code' | 'message' | 'now'>,
    outcome: FailOutcome,
  ): NewEvent =>
    event('task.failed', failure.now, taskId, nodeId, {
      attempt,
      code: failure.code,
      message: failure.message,
      status: outcome.status,
      retryAt: outcome.retryAt,
    }),

  blocked: (taskId: string, error: TaskError, now: number): NewEvent =>
    event('task.blocked', now, taskId, null, { code: error.code, message: error.message }),

  released: (taskId: string, nodeId: string | null, attempt: number, reason: string, crash: boolean, now: number): NewEvent =>
    event('task.released', now, taskId, nodeId, { attempt, reason, crash }),

  /**
   * A start taken back to wait out a rate limit (`defer`), written after its `task.released`
   * line: the task is ready again at `until`, and this was its `rateLimitWaits`-th wait.
   */
  deferred: (
    taskId: string,
    nodeId: string | null,
    attempt: number,
    deferral: Pick<Deferral, 'now' | 'until' | 'reason' | 'error'>,
    rateLimitWaits: number,
  ): NewEvent =>
    event('task.deferred', deferral.now, taskId, nodeId, {
      attempt,
      until: deferral.until,
      reason: deferral.reason,
      code: deferral.error.code,
      message: deferral.error.message,
      rateLimitWaits,
    }),

  /**
   * A task whose crash-release budget (`TASK_KILLS_SUPERVISOR`) or rate-limit-wait budget
   * (`RATE_LIMITED`) ran out, written after its `task.released` line. It is a `task.failed`
   * line with status `dead`, as every death is, so a reader looking for dead tasks finds this
   * one the same way.
   */
  releasedDead: (taskId: string, nodeId: string | null, attempt: number, error: TaskError, now: number): NewEvent =>
    event('task.failed', now, taskId, nodeId, { attempt, code: error.code, message: error.message, status: 'dead', retryAt: null }),

  cancelled: (taskId: string, now: number): NewEvent => event('task.cancelled', now, taskId, null, {}),

  redriven: (taskId: string, attemptBase: number, now: number): NewEvent =>
    event('task.redriven', now, taskId, null, { attemptBase }),

  unblocked: (taskId: string, now: number): NewEvent => event('task.unblocked', now, taskId, null, {}),

  /** A finished task runs again to take a message (the mailbox): `from` its status then, `reason` why. */
  reopened: (taskId: string, from: string, reason: string, attemptBase: number, now: number): NewEvent =>
    event('task.reopened', now, taskId, null, { from, reason, attemptBase }),

  /** A safeguard's block lifted by an operator, with the reason they gave (an audited override). */
  overridden: (taskId: string, code: string, reason: string, now: number): NewEvent =>
    event('task.overridden', now, taskId, null, { code, reason }),
};
