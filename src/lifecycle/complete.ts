/**
 * An attempt succeeded: the task is complete, with its exit code, result and commit, and
 * each dependent has one unmet dependency fewer; those left with none become ready. A
 * completion with a `hold` (a loop safeguard) leaves the task `blocked` with that error
 * instead, its work kept all the same.
 */
import { openAttempt } from './attempts.js';
import { Draft, type Plan } from './draft.js';
import { storeEvents } from './events.js';
import { isoTime } from './iso-time.js';
import type { Completion } from './outcomes.js';
import type { TaskRow, TaskRows } from './rows.js';

/**
 * assigned/running → complete (`rows`: the task under the reporting lease), closing the
 * attempt with the agent session and usage reported; `dependents` (its direct dependents' rows) are unlocked. Answers true.
 */
export function planComplete(rows: TaskRows, dependents: readonly TaskRow[], completion: Completion): Plan<boolean> {
  const { task } = rows;
  const { exitCode, now } = completion;
  const at = isoTime(now);
  const draft = new Draft();
  draft.putAttempt({ ...openAttempt(rows), finishedAt: at, exitCode, session: completion.session ?? null, usage: completion.usage ?? null });
  draft.update(task, {
    status: completion.hold ? 'blocked' : 'complete', lease: null, leaseExpiresAt: null, finishedAt: at, exitCode,
    result: completion.result, commit: completion.commit, error: completion.hold ?? null,
  });
  for (const dependent of dependents) {
    const unmetDeps = Math.max(0, dependent.unmetDeps - 1);
    const status = dependent.status === 'pending' && unmetDeps === 0 ? 'ready' : dependent.status;
    draft.update(dependent, { unmetDeps, status });
  }
  draft.event(storeEvents.completed(task.id, task.node, task.attemptCount, exitCode, now));
  if (completion.hold) draft.event(storeEvents.blocked(task.id, completion.hold, now));
  return draft.plan(true);
}
