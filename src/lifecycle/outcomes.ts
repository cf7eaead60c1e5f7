/**
 * What the supervisor reports to a store about an attempt, and what the store answers.
 * The fields mirror the `coord:complete` / `coord:failed` protocol messages, plus `now`:
 * the lifecycle never reads a clock.
 */
import type { CoordErrorCode } from '../errors.js';

/** A successful attempt. */
export interface Completion {
  exitCode: number | null;
  /** A module task's return value (JSON); null for run tasks. */
  result: unknown;
  /** The tip of the task's branch after the attempt. */
  commit: string | null;
  /** Epoch ms. */
  now: number;
}

/** A failed attempt, as a worker reported it (or the supervisor, for a crash or a timeout). */
export interface Failure {
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

/** What became of a failed attempt. */
export interface FailOutcome {
  /** `failed` (waiting out a backoff), `ready` (retry due at once) or `dead`. */
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
