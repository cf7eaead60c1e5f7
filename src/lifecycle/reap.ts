/**
 * Reaping: an attempt whose lease expired is failed with `LEASE_EXPIRED` (retryable: it
 * counts as an attempt), earliest expiry first, so the task runs again elsewhere.
 */
import { Draft, type Plan } from './draft.js';
import { failAttempt } from './fail.js';
import type { Failure, Reaped } from './outcomes.js';
import type { RetryDecision } from './retry-decision.js';
import type { Subgraph, TaskRows } from './rows.js';

/** One expired attempt, with the failure it is reaped with and the retry decision for it. */
export interface Expiry {
  rows: TaskRows;
  failure: Failure;
  decision: RetryDecision;
}

/**
 * Fails every attempt of `expired` (in the order given: earliest expiry first, then
 * submission order) as {@link failAttempt} does. `graph`: what blocking walks from the ones
 * whose decision is dead. Answers each reaped attempt with its holder and outcome.
 */
export function planReap(expired: readonly Expiry[], graph: Subgraph): Plan<Reaped[]> {
  const draft = new Draft(graph);
  const reaped = expired.map(({ rows, failure, decision }): Reaped => {
    const { id, lease, node, worker } = rows.task;
    const outcome = failAttempt(draft, rows, failure, decision);
    return { taskId: id, lease: lease ?? '', nodeId: node ?? '', workerId: worker ?? '', outcome };
  });
  return draft.plan(reaped);
}
