/**
 * A run summary built from `list()` alone (the shape the supervisor's summary reads:
 * status, attempts and the node of each, error code, result, commit, times).
 */
import type { TaskRecord } from '../../../src/store/task-store.js';

/** The summary of `records`. */
export function summarize(records: readonly TaskRecord[]) {
  const counts: Record<string, number> = {};
  for (const record of records) counts[record.status] = (counts[record.status] ?? 0) + 1;
  return {
    counts,
    tasks: records.map((r) => ({
      id: r.spec.id,
      status: r.status,
      attempts: r.attempts.length,
      nodes: r.attempts.map((a) => a.node ?? '?'),
      workers: r.attempts.map((a) => a.worker),
      error: r.error?.code ?? null,
      result: r.result ?? null,
      commit: r.commit,
      startedAt: r.startedAt,
      finishedAt: r.finishedAt,
    })),
  };
}
