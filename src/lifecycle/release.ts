/**
 * Releases: an in-flight task goes back without a verdict. The start stays in the history
 * (`releases` rows: it did run, execution is at-least-once) but burns no attempt, so the next
 * run gets the same attempt number. An orderly release (drain, stop, a worker that could not
 * take it) is free; a crash-release (recovery after the supervisor holding it died) counts
 * towards the task's release budget, and the one that spends it ends the task dead with
 * `TASK_KILLS_SUPERVISOR`, blocking its dependents as any death does.
 */
import { firstStart, openAttempt } from './attempts.js';
import { blockDependents, logBlocked } from './block.js';
import { Draft, type Plan } from './draft.js';
import { storeEvents } from './events.js';
import { isoTime } from './iso-time.js';
import { CRASH_RELEASE_REASON, crashReleaseVerdict, killsSupervisorError } from './release-budget.js';
import type { Subgraph, TaskRow, TaskRows } from './rows.js';

/** Why and when a start is taken back, and whether a supervisor crash did it. */
interface ReleaseNote {
  now: number;
  reason: string;
  crash: boolean;
}

/**
 * Takes the open attempt of `rows.task` back, leaving the status to the caller: the attempt
 * row moves to `releases` with its reason, `releases` (and, for a crash, `crashReleases`) is
 * counted, the holder is cleared, and `startedAt` is the first counted run's again. Logs the
 * release. Returns the task's row as it now is.
 */
function takeBack(draft: Draft, rows: TaskRows, note: ReleaseNote): TaskRow {
  const { task } = rows;
  const open = openAttempt(rows);
  const { now, reason, crash } = note;
  draft.release({
    taskId: task.id, seq: task.releases + 1, attempt: open.attempt, node: open.node, worker: open.worker, lease: open.lease,
    assignedAt: open.assignedAt, startedAt: open.startedAt, releasedAt: isoTime(now), reason, crash,
  });
  draft.dropAttempt(task.id, open.attempt);
  draft.event(storeEvents.released(task.id, task.node, open.attempt, reason, crash, now));
  return draft.update(task, {
    attemptCount: task.attemptCount - 1,
    releases: task.releases + 1,
    crashReleases: task.crashReleases + (crash ? 1 : 0),
    startedAt: firstStart(rows.attempts, open.attempt),
    lease: null, leaseExpiresAt: null, worker: null, node: null,
  });
}

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
