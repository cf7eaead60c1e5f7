/**
 * Closing an attempt with the worker's verdict: success completes the task and unlocks its
 * dependents; failure either schedules a retry or sends the task dead and blocks everything
 * downstream. Whether a failure retries is decided beforehand ({@link RetryDecision}), so
 * these functions only apply it; both expect a record whose lease the caller has checked.
 */
import { blockDependents, unlockDependents } from './dependents.js';
import type { Completion, FailOutcome, Failure } from './outcomes.js';
import type { RetryDecision } from './retry-decision.js';
import type { TaskTable } from './task-table.js';
import { currentAttempt, isoTime, type MutableTaskRecord } from './task-record.js';

/** assigned/running → complete, closing the attempt; dependents whose last unmet dependency this was become ready. */
export function completeAttempt(table: TaskTable, record: MutableTaskRecord, outcome: Completion): void {
  const at = isoTime(outcome.now);
  const attempt = currentAttempt(record);
  attempt.finishedAt = at;
  attempt.exitCode = outcome.exitCode;
  record.lease = null;
  record.leaseExpiresAt = null;
  record.finishedAt = at;
  record.exitCode = outcome.exitCode;
  record.result = outcome.result;
  record.commit = outcome.commit;
  record.error = null;
  table.setStatus(record, 'complete');
  unlockDependents(table, record);
}

/**
 * Closes the attempt as failed and applies `decision`: a retry waits out its backoff as
 * `failed` (or is `ready` at once) with the holder cleared; `dead` ends the task and blocks
 * every transitive dependent not yet terminal with `DEP_DEAD`.
 */
export function failAttempt(
  table: TaskTable,
  record: MutableTaskRecord,
  failure: Failure,
  decision: RetryDecision,
): FailOutcome {
  const { code, message } = failure;
  const attempt = currentAttempt(record);
  attempt.finishedAt = isoTime(failure.now);
  attempt.exitCode = failure.exitCode;
  attempt.code = code;
  attempt.message = message;
  record.lease = null;
  record.leaseExpiresAt = null;
  record.exitCode = failure.exitCode;
  record.error = failure.details === undefined ? { code, message } : { code, message, details: failure.details };

  if (decision.status !== 'dead') {
    record.worker = null;
    record.node = null;
    record.readyAt = decision.readyAt;
    table.setStatus(record, decision.status);
    return { status: decision.status, retryAt: record.readyAt, blocked: [] };
  }
  record.finishedAt = isoTime(failure.now);
  table.setStatus(record, 'dead');
  return { status: 'dead', retryAt: null, blocked: blockDependents(table, record.dependents, record, failure.now) };
}
