/**
 * Deferring: an in-flight attempt met its provider's rate limit. That is no verdict on the
 * task, so the start is taken back as a release is — kept in `released` with its reason and
 * the agent session and usage it ran up (execution is at-least-once: it did run, and it may
 * have spent money), burning no attempt — and the task is `ready` again but not handed out
 * before the limit resets (`readyAt`: claims, peeks and the due time all honour it). The waits
 * are counted against the rate-limit budget (rate-limit-budget.ts); the one past it ends the
 * task dead with `RATE_LIMITED`, blocking its dependents as every death does.
 */
import { blockDependents, logBlocked } from './block.js';
import { Draft, type Plan } from './draft.js';
import { storeEvents } from './events.js';
import { isoTime } from './iso-time.js';
import type { Deferral, FailOutcome } from './outcomes.js';
import { rateLimitVerdict, rateLimitedError } from './rate-limit-budget.js';
import type { Subgraph, TaskRows } from './rows.js';
import { takeBack } from './take-back.js';

/** True when one more deferral of `row` kills it: the store must then read what its death blocks. */
export function isDyingOnDeferral(row: { rateLimitWaits: number }, maxRateLimitWaits: number): boolean {
  return rateLimitVerdict(row.rateLimitWaits, maxRateLimitWaits).dead;
}

/**
 * assigned/running → ready due at `deferral.until` (`rows`: the task under the reporting
 * lease), the start taken back into `released`, `rateLimitWaits` counted, the task's error
 * the limit met; logged as `task.released` then `task.deferred`. When the waits exceed
 * `maxRateLimitWaits`: dead with `RATE_LIMITED` instead (`task.released`, then `task.failed`
 * with status dead), every transitive dependent not yet terminal blocked (`graph`: what
 * blocking walks, read for a death). Answers what became of the task (`failed` never).
 */
export function planDefer(rows: TaskRows, graph: Subgraph, deferral: Deferral, maxRateLimitWaits: number): Plan<FailOutcome> {
  const { task } = rows;
  const { now, until, reason } = deferral;
  const verdict = rateLimitVerdict(task.rateLimitWaits, maxRateLimitWaits);
  const draft = new Draft(graph);
  const attempt = task.attemptCount;
  const taken = takeBack(draft, rows, { now, reason, crash: false, session: deferral.session ?? null, usage: deferral.usage ?? null });
  const { rateLimitWaits } = verdict;
  if (!verdict.dead) {
    draft.update(taken, { status: 'ready', readyAt: until, rateLimitWaits, error: deferral.error });
    draft.event(storeEvents.deferred(task.id, task.node, attempt, deferral, rateLimitWaits));
    return draft.plan({ status: 'ready', retryAt: until, blocked: [] });
  }
  const error = rateLimitedError(task.id, rateLimitWaits, maxRateLimitWaits, deferral.error);
  draft.update(taken, { status: 'dead', rateLimitWaits, error, finishedAt: isoTime(now) });
  draft.event(storeEvents.releasedDead(task.id, task.node, attempt, error, now));
  const blocked = blockDependents(draft, task.id, 'dead', now);
  logBlocked(draft, blocked, now);
  return draft.plan({ status: 'dead', retryAt: null, blocked });
}
