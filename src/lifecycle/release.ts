/**
 * Releases: an in-flight task goes back without a verdict. The start stays in the history
 * (`releases` rows: it did run, execution is at-least-once) but burns no attempt, so the next
 * run gets the same attempt number. An orderly release (drain, stop, a worker that could not
 * take it) is free; a crash-release (recovery after the supervisor holding it died) counts
 * towards the task's release budget, and the one that spends it ends the task dead with
 * `TASK_KILLS_SUPERVISOR`, blocking its dependents as any death does.
 */
import { takeBack } from './take-back.js';
import { blockDependents, logBlocked } from './block.js';
import { Draft, type Plan } from './draft.js';
import { storeEvents } from './events.js';
import { isoTime } from './iso-time.js';
import { CRASH_RELEASE_REASON, crashReleaseVerdict, killsSupervisorError } from './release-budget.js';
import type { Subgraph, TaskRow, TaskRows } from './rows.js';

/**
 * assigned/running → ready without using up an attempt (`rows`: the task under the reporting
 * lease), ready at once in its old place (priority, submission order). Answers true.
 */
export function planRelease(rows: TaskRows, now: number, reason: string): Plan<true> {
  const draft = new Draft();
  const taken = takeBack(draft, rows, { now, reason, crash: false });
  draft.update(taken, { status: 'ready', readyAt: 0 });
  return draft.plan(true);
}

/** What a node's crash-release is planned with: the tasks it held (submission order), the release budget, the time. */
export interface NodeReleaseInput {
  held: readonly TaskRows[];
  maxReleases: number;
  now: number;
}

/**
 * Takes back every task of `input.held` (a supervisor restarting after a crash) as a
 * crash-release with reason `supervisor restarted`. A task whose crash-releases reach
 * `maxReleases` is dead with `TASK_KILLS_SUPERVISOR` instead of ready, and its dependents are
 * blocked. `graph`: what blocking walks from those (see {@link dyingOnCrashRelease}). Answers
 * the ids taken back, the dead ones included.
 */
export function planReleaseNode(input: NodeReleaseInput, graph: Subgraph): Plan<string[]> {
  const { maxReleases, now } = input;
  const draft = new Draft(graph);
  for (const rows of input.held) {
    const { id, node } = rows.task;
    const verdict = crashReleaseVerdict(rows.task.crashReleases, maxReleases);
    const taken = takeBack(draft, rows, { now, reason: CRASH_RELEASE_REASON, crash: true });
    if (!verdict.dead) {
      draft.update(taken, { status: 'ready', readyAt: 0 });
      continue;
    }
    const error = killsSupervisorError(id, verdict.crashReleases, maxReleases);
    draft.update(taken, { status: 'dead', error, finishedAt: isoTime(now) });
    draft.event(storeEvents.releasedDead(id, node, rows.task.attemptCount, error, now));
    logBlocked(draft, blockDependents(draft, id, 'dead', now), now);
  }
  return draft.plan(input.held.map((rows) => rows.task.id));
}

/** The tasks of `held` that one more crash-release kills: the ones a node release must read the dependents of. */
export function dyingOnCrashRelease(held: readonly TaskRows[], maxReleases: number): string[] {
  return held.filter((rows) => crashReleaseVerdict(rows.task.crashReleases, maxReleases).dead).map((rows) => rows.task.id);
}
