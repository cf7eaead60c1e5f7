/**
 * A failed attempt as the outcome path takes it: from a worker's `coord:failed`, or found by
 * the supervisor itself (a crashed or hung worker, a start commit it could not prepare, a
 * push that failed). `retryable` starts from the code's policy; a report may only narrow it.
 */
import { policyOf, type CoordErrorCode } from '../../errors.js';
import type { AgentReport, WorkerMessageOf } from '../../protocol/messages.js';

export interface FailureReport {
  taskId: string;
  lease: string;
  attempt: number;
  code: CoordErrorCode;
  message: string;
  retryable: boolean;
  exitCode: number | null;
  retryAfterMs: number | null;
  /** The last lines the task printed (a worker's report; empty for the supervisor's own findings). */
  outputTail: string[];
  /** An agent attempt's session, model and usage, as its worker reported them. */
  agent?: AgentReport | undefined;
}

/** The attempt a report is about. */
export interface AttemptRef {
  taskId: string;
  lease: string;
  attempt: number;
}

/** A failure the supervisor found in an attempt: retryable exactly as the code's policy says. */
export function supervisorFailure(attempt: AttemptRef, code: CoordErrorCode, message: string, exitCode: number | null = null): FailureReport {
  return { ...pick(attempt), code, message, retryable: policyOf(code).retryable, exitCode, retryAfterMs: null, outputTail: [] };
}

/** A worker's `coord:failed` (its code already parsed at the IPC edge). */
export function workerFailure(message: WorkerMessageOf<'coord:failed'>): FailureReport {
  return {
    ...pick(message),
    code: message.code,
    message: message.message,
    retryable: message.retryable && policyOf(message.code).retryable,
    exitCode: message.exitCode,
    retryAfterMs: message.retryAfterMs,
    outputTail: message.outputTail,
    agent: message.agent,
  };
}

function pick({ taskId, lease, attempt }: AttemptRef): AttemptRef {
  return { taskId, lease, attempt };
}
