/**
 * A worker started the task it claimed: assigned → running, the start stamped on the attempt
 * and, for the first counted run, on the task.
 */
import { openAttempt } from './attempts.js';
import { Draft, noChange, type Plan } from './draft.js';
import { storeEvents } from './events.js';
import { isoTime } from './iso-time.js';
import type { TaskRows } from './rows.js';

/**
 * assigned → running at `now` (`rows`: the task under the reporting lease). Answers false,
 * changing nothing, when it is already running. Safe to lose in a crash, as a claim is.
 */
export function planStart(rows: TaskRows, now: number): Plan<boolean> {
  const { task } = rows;
  if (task.status !== 'assigned') return noChange(false);
  const at = isoTime(now);
  const draft = new Draft();
  draft.putAttempt({ ...openAttempt(rows), startedAt: at });
  draft.update(task, { status: 'running', startedAt: task.startedAt ?? at });
  draft.event(storeEvents.started(task.id, task.node, task.attemptCount, now));
  return draft.plan(true, { relaxed: true });
}
