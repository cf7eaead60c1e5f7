/**
 * What the supervisor reports to a store about an attempt, and what the store answers.
 * The fields mirror the `coord:complete` / `coord:failed` protocol messages, plus `now`:
 * the lifecycle never reads a clock.
 */
import type { AgentSession, AgentUsage } from '../agents/types.js';
import type { CoordErrorCode } from '../errors.js';
import type { TaskError } from './task-record.js';

/**
 * What an agent attempt ran up, kept on the attempt (or the released start) it closes: the
 * agent's session (what a later run may resume) and its usage. Absent or null for a run
 * task, or an agent that reported neither.
 */
export interface AgentReport {
  session?: AgentSession | null;
  usage?: AgentUsage | null;
}

/** A successful attempt. */
export interface Completion extends AgentReport {
  exitCode: number | null;
  /** A module task's return value (JSON); null for run tasks. */
  result: unknown;
  /** The tip of the task's branch after the attempt. */
  commit: string | null;
  /** Epoch ms. */
  now: number;
  /**
   * A safeguard stops the task here (e.g. `LOOP_REPEATED_FINDING`): its run counts as done
   * (commit, result and dependents as for a completion) but it is `blocked` with this error
   * until an operator's override (`unblock`).
   */
  hold?: TaskError | undefined;
}

/** A failed attempt, as a worker reported it (or the supervisor, for a crash or a timeout). */
export interface Failure extends AgentReport {
  code: CoordErrorCode;
  message: string;
  exitCode: number | null;
  /**
   * False for failures a retry cannot fix (bad spec, missing module). It can only narrow the
   * code's own policy (`ERROR_POLICY[code].retryable`), never widen it.
   */
  retryable: boolean;
  /** A lower bound on the retry delay, e.g. from a rate-limit answer. */
  retryAfterMs?: number | null;
  /** Epoch ms. */
  now: number;
  details?: Record<string, unknown>;
}

/**
 * An in-flight attempt that met its provider's rate limit: nothing is wrong with the task, so
 * it waits for the limit to lift rather than failing (see defer.ts).
 */
export interface Deferral extends AgentReport {
  /** Epoch ms. */
  now: number;
  /** Epoch ms before which the task is not handed out again (when the limit resets). */
  until: number;
  /** Why the start was taken back, kept on the released start (e.g. `rate limited: claude`). */
  reason: string;
  /** The rate-limit error as met (usually `RATE_LIMITED`): the task's error while it waits. */
  error: TaskError;
}

/** What became of a failed (or deferred) attempt. */
export interface FailOutcome {
  /**
   * `failed` (waiting out a backoff), `ready` (retry due at once; for a deferral, due at
   * `retryAt`) or `dead`.
   */
  status: 'failed' | 'ready' | 'dead';
  /** Epoch ms at which the retry is due; null when dead. */
  retryAt: number | null;
  /** Dependents blocked because the task went dead, in BFS order. */
  blocked: string[];
}

/** A task whose lease expired and was reaped (`nodeId`/`workerId`: the holder that stopped renewing). */
export interface Reaped {
  taskId: string;
  lease: string;
  nodeId: string;
  workerId: string;
  outcome: FailOutcome;
}
