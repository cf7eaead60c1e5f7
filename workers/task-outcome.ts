/**
 * The one place that turns how a task attempt ended into the protocol's answer: a PTY run's
 * or a module run's result becomes a {@link TaskOutcome}, and an outcome plus the branch tip
 * becomes `coord:complete` or `coord:failed`. Pure functions; the codes and retryability
 * rules live here and nowhere else.
 */
import type { CoordErrorCode } from '../src/errors.js';
import type { WorkerMessageOf } from '../src/protocol/messages.js';
import type { ModuleRunResult } from './run-module.js';
import type { PtyRunResult } from './run-pty.js';

/** A failed attempt, before git and timing are added. */
export interface TaskFailure {
  ok: false;
  code: string;
  message: string;
  exitCode: number | null;
  signal: string | null;
  retryable: boolean;
  /**
   * Whose fault it is: `workspace` when the attempt never ran because the worktree could not
   * be prepared (the supervisor then returns the task unburnt and takes the worker out of
   * service); `task` otherwise.
   */
  chargedTo?: 'task' | 'workspace';
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

/** A failure outcome with a coord error code. */
export function failure(code: CoordErrorCode, message: string, retryable: boolean,
  exitCode: number | null = null, signal: string | null = null): TaskFailure {
  return { ok: false, code, message, exitCode, signal, retryable };
}

/** Maps a PTY run to an outcome (`timeoutMs` only for the message). */
export function outcomeOfPty(run: PtyRunResult, timeoutMs: number | null): TaskOutcome {
  const { exitCode, signal } = run;
  switch (run.terminationReason) {
    case 'spawn-error':
      return failure('TASK_SPAWN_FAILED', `cannot start the task: ${run.spawnError?.message ?? 'unknown spawn error'}`, false);
    case 'timeout':
      return failure('TASK_TIMEOUT', `timed out after ${timeoutMs ?? '?'} ms`, true, exitCode, signal);
    case 'cancel':
      return failure('TASK_CANCELLED', 'cancelled', true, exitCode, signal);
    case 'exit':
      if (exitCode === 0 && signal === null) return { ok: true, exitCode: 0, result: null };
      return failure('TASK_EXIT_NONZERO',
        signal === null ? `exited with code ${exitCode ?? '?'}` : `killed by ${signal}`, true, exitCode, signal);
  }
}

/** Maps a module run to an outcome. */
export function outcomeOfModule(run: ModuleRunResult, timeoutMs: number | null): TaskOutcome {
  switch (run.terminationReason) {
    case 'timeout':
      return failure('TASK_TIMEOUT', `timed out after ${timeoutMs ?? '?'} ms`, true);
    case 'cancel':
      return failure('TASK_CANCELLED', 'cancelled', true);
    case 'crashed':
      return failure('MODULE_FAILED', `the handler's thread died: ${run.crashMessage ?? 'unknown reason'}`, true);
    case 'returned': {
      const outcome = run.outcome;
      if (outcome === null) return failure('INTERNAL', 'module run returned without an outcome', true);
      if (outcome.ok) return { ok: true, exitCode: null, result: outcome.value };
      return { ok: false, code: outcome.code, message: outcome.message, exitCode: null, signal: null, retryable: outcome.retryable };
    }
  }
}

/**
 * The protocol answer for an attempt. A successful run whose work could not be committed
 * (`gitError`) is a failure: the branch does not hold what the task did. A failed run keeps
 * its own failure; the git problem is the caller's to log.
 */
export function finalMessage(ref: TaskRef, outcome: TaskOutcome, commit: string | null,
  gitError: string | null, durationMs: number): FinalMessage {
  const base = { taskId: ref.taskId, attempt: ref.attempt, lease: ref.lease, commit, durationMs: Math.max(0, Math.round(durationMs)) };
  if (outcome.ok && gitError === null) {
    return { type: 'coord:complete', ...base, exitCode: outcome.exitCode, result: outcome.result ?? null };
  }
  const failed: TaskFailure = outcome.ok
    ? failure('GIT_FAILED', `the task succeeded but its work could not be committed: ${gitError ?? ''}`, false, outcome.exitCode)
    : outcome;
  return {
    type: 'coord:failed',
    ...base,
    code: failed.code,
    message: failed.message,
    exitCode: failed.exitCode,
    signal: failed.signal,
    retryable: failed.retryable,
    retryAfterMs: null,
    chargedTo: failed.chargedTo ?? 'task',
  };
}
