/**
 * An attempt failed: the task waits out a backoff and runs again while its failure is
 * retryable and attempts remain (the decision: retry-decision.ts), or goes dead, blocking
 * everything downstream.
 */
import { openAttempt } from './attempts.js';
import { blockDependents, logBlocked } from './block.js';
import { Draft, type Plan } from './draft.js';
import { storeEvents } from './events.js';
import { isoTime } from './iso-time.js';
import type { FailOutcome, Failure } from './outcomes.js';
import type { RetryDecision } from './retry-decision.js';
import type { Subgraph, TaskRows } from './rows.js';
import type { TaskError } from './task-record.js';

/**
 * Closes the open attempt of `rows.task` as failed, with the agent session and usage the
 * failure reports, and applies `decision` (taken beforehand, so that the store reads what a
 * death blocks only for a death): a retry waits as `failed` until its `readyAt` (or is
 * `ready` at once) with the holder cleared; `dead` ends the task and blocks every transitive
 * dependent not yet terminal with `DEP_DEAD`. Logs the failure and what it blocked.
 */
export function failAttempt(draft: Draft, rows: TaskRows, failure: Failure, decision: RetryDecision): FailOutcome {
  const { task } = rows;
  const { code, message, exitCode, now } = failure;
  const at = isoTime(now);
  const report = { session: failure.session ?? null, usage: failure.usage ?? null };
  draft.putAttempt({ ...openAttempt(rows), finishedAt: at, exitCode, code, message, ...report });
  const error: TaskError = failure.details === undefined ? { code, message } : { code, message, details: failure.details };
  const closed = { lease: null, leaseExpiresAt: null, exitCode, error };
  let outcome: FailOutcome;
  if (decision.status !== 'dead') {
    draft.update(task, { ...closed, status: decision.status, worker: null, node: null, readyAt: decision.readyAt });
    outcome = { status: decision.status, retryAt: decision.readyAt, blocked: [] };
    draft.event(storeEvents.failed(task.id, task.node, task.attemptCount, failure, outcome));
    return outcome;
  }
  draft.update(task, { ...closed, status: 'dead', finishedAt: at });
  outcome = { status: 'dead', retryAt: null, blocked: blockDependents(draft, task.id, 'dead', now) };
  draft.event(storeEvents.failed(task.id, task.node, task.attemptCount, failure, outcome));
  logBlocked(draft, outcome.blocked, now);
  return outcome;
}

/**
 * Records the failed attempt of `rows.task` (the task under the reporting lease). `graph`:
 * what blocking from it walks, read when `decision` is dead. Answers what became of it.
 */
export function planFail(rows: TaskRows, graph: Subgraph, failure: Failure, decision: RetryDecision): Plan<FailOutcome> {
  const draft = new Draft(graph);
  const outcome = failAttempt(draft, rows, failure, decision);
  return draft.plan(outcome);
}
