/**
 * The one place that turns how a task attempt ended into the protocol's answer: a PTY run's
 * or a module run's result becomes a {@link TaskOutcome}, and an outcome plus the branch tip
 * becomes `coord:complete` or `coord:failed`. Pure functions. Which code an ending gets is
 * decided here; what a code means (retryable, who pays) is `ERROR_POLICY`'s, in src/errors.ts.
 * A failure's `retryable` starts from the policy and may only be narrowed (a handler's
 * `retryable: false`, a load failure that the same commit will repeat).
 */
import { policyOf, type CoordErrorCode } from '../src/errors.js';
import type { AgentReport, WorkerMessageOf } from '../src/protocol/messages.js';
import type { ModuleRunResult } from './run-module.js';
import type { PtyRunResult } from './run-pty.js';

/** A failed attempt, before git and timing are added. */
export interface TaskFailure {
  ok: false;
  code: CoordErrorCode;
  message: string;
  exitCode: number | null;
  signal: string | null;
  retryable: boolean;
  /** The last lines the task printed, to say why at a glance (the log has everything). */
  outputTail?: string[];
  /** A lower bound on the retry delay (a rate limit's reset). */
  retryAfterMs?: number | null;
}

/** How an attempt ended, before git and timing are added. */
export type TaskOutcome = { ok: true; exitCode: number | null; result: unknown } | TaskFailure;

/** The task fields every task message carries. */
export interface TaskRef {
  taskId: string;
  attempt: number;
  lease: string;
}

/** The final answer to an assign. */
export type FinalMessage = WorkerMessageOf<'coord:complete'> | WorkerMessageOf<'coord:failed'>;

/** A failure outcome; retryable as the code's policy says unless `narrowed`. */
export function failure(code: CoordErrorCode, message: string, exitCode: number | null = null,
  signal: string | null = null, narrowed = false): TaskFailure {
  return { ok: false, code, message, exitCode, signal, retryable: policyOf(code).retryable && !narrowed };
}

/** Maps a PTY run to an outcome (`timeoutMs` only for the message). */
export function outcomeOfPty(run: PtyRunResult, timeoutMs: number | null): TaskOutcome {
  const { exitCode, signal } = run;
  switch (run.terminationReason) {
    case 'spawn-error':
      return failure('TASK_SPAWN_FAILED', `cannot start the task: ${run.spawnError?.message ?? 'unknown spawn error'}`);
    case 'timeout':
      return { ...failure('TASK_TIMEOUT', `timed out after ${timeoutMs ?? '?'} ms`, exitCode, signal), outputTail: run.outputTail };
    case 'cancel':
      return failure('TASK_CANCELLED', 'cancelled', exitCode, signal);
    case 'exit':
      if (exitCode === 0 && signal === null) return { ok: true, exitCode: 0, result: null };
      return {
        ...failure('TASK_EXIT_NONZERO', signal === null ? `exited with code ${exitCode ?? '?'}` : `killed by ${signal}`, exitCode, signal),
        outputTail: run.outputTail,
      };
  }
}

/** Maps a module run to an outcome. */
export function outcomeOfModule(run: ModuleRunResult, timeoutMs: number | null): TaskOutcome {
  switch (run.terminationReason) {
    case 'timeout':
      return failure('TASK_TIMEOUT', `timed out after ${timeoutMs ?? '?'} ms`);
    case 'cancel':
      return failure('TASK_CANCELLED', 'cancelled');
    case 'crashed':
      return failure('MODULE_FAILED', `the handler's thread died: ${run.crashMessage ?? 'unknown reason'}`);
    case 'returned': {
      const outcome = run.outcome;
      if (outcome === null) return failure('INTERNAL', 'module run returned without an outcome');
      if (outcome.ok) return { ok: true, exitCode: null, result: outcome.value };
      return failure(outcome.code, outcome.message, null, null, !outcome.retryable);
    }
  }
}

/**
 * The protocol answer for an attempt. A successful run whose work could not be committed
 * (`gitError`) is a failure: the branch does not hold what the task did. A failed run keeps
 * its own failure; the git problem is the caller's to log.
 */
export function finalMessage(ref: TaskRef, outcome: TaskOutcome, commit: string | null,
  gitError: string | null, durationMs: number, agent?: AgentReport): FinalMessage {
  const base = {
    taskId: ref.taskId, attempt: ref.attempt, lease: ref.lease, commit, durationMs: Math.max(0, Math.round(durationMs)),
    ...(agent === undefined ? {} : { agent }),
  };
  if (outcome.ok && gitError === null) {
    return { type: 'coord:complete', ...base, exitCode: outcome.exitCode, result: outcome.result ?? null };
  }
  const failed: TaskFailure = outcome.ok
    ? failure('GIT_FAILED', `the task succeeded but its work could not be committed: ${gitError ?? ''}`, outcome.exitCode)
    : outcome;
  return {
    type: 'coord:failed',
    ...base,
    code: failed.code,
    message: failed.message,
    exitCode: failed.exitCode,
    signal: failed.signal,
    retryable: failed.retryable,
    retryAfterMs: failed.retryAfterMs ?? null,
    outputTail: failed.outputTail ?? [],
  };
}
