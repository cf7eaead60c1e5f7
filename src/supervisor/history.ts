/**
 * A task's history as the run summary shows it: every start, in the order they happened —
 * the counted attempts and the starts that were taken back without a verdict (released),
 * each marked. Released starts burn no attempt (`attempts` counts only the others), but they
 * ran, and execution is at-least-once: a history without them would hide re-execution.
 */
import type { AttemptRecord, ReleasedStart, TaskRecord } from '../lifecycle/task-record.js';

/** One start of a task: an attempt's fields, plus whether (and why, and when) it was released. */
export interface HistoryEntry extends AttemptRecord {
  /** True for a start taken back without a verdict; it did not count as an attempt. */
  released: boolean;
  /** Why it was released (`supervisor restarted`, `drain deadline reached`, `stop requested`, `worker unavailable`, …); null otherwise. */
  releaseReason: string | null;
  /** When it was released (ISO-8601; also its `finishedAt`); null otherwise. */
  releasedAt: string | null;
  /** True when recovery released it after a supervisor crash (it counts towards `maxReleases`). */
  crashRelease: boolean;
}

/**
 * Every start of `record`, oldest first. A released start ran under attempt number n while
 * n - 1 attempts counted, so it came after attempt n - 1 and before attempt n; released
 * starts keep their own order. That makes the order exact without comparing clocks.
 */
export function taskHistory(record: Pick<TaskRecord, 'attempts' | 'released'>): HistoryEntry[] {
  const history: HistoryEntry[] = [];
  let next = 0;
  const released = record.released;
  for (const attempt of record.attempts) {
    for (; next < released.length && (released[next] as ReleasedStart).attempt <= attempt.attempt; next += 1) {
      history.push(releasedEntry(released[next] as ReleasedStart));
    }
    history.push({ ...attempt, released: false, releaseReason: null, releasedAt: null, crashRelease: false });
  }
  for (; next < released.length; next += 1) history.push(releasedEntry(released[next] as ReleasedStart));
  return history;
}

function releasedEntry(start: ReleasedStart): HistoryEntry {
  return {
    attempt: start.attempt,
    ...(start.node === undefined ? {} : { node: start.node }),
    worker: start.worker,
    lease: start.lease,
    assignedAt: start.assignedAt,
    startedAt: start.startedAt,
    finishedAt: start.releasedAt,
    exitCode: null,
    code: null,
    message: null,
    session: start.session,
    usage: start.usage,
    released: true,
    releaseReason: start.reason,
    releasedAt: start.releasedAt,
    crashRelease: start.crash,
  };
}
