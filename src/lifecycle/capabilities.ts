/**
 * Matching a task's `needs` against a worker's capabilities: a worker can take a task when
 * it has every capability the task needs (`needs ⊆ capabilities`). The SQL stores express the
 * same rule in their claim queries (an index cannot call this); a claim plan checks it again.
 */

/** Says whether a worker (or some idle worker) has every capability in `needs`. */
export type NeedsFilter = (needs: readonly string[]) => boolean;

/** A {@link NeedsFilter} that passes the needs a worker with `capabilities` can serve. */
export function canServeWith(capabilities: readonly string[]): NeedsFilter {
  if (capabilities.length === 0) return (needs) => needs.length === 0;
  const have = new Set(capabilities);
  return (needs) => needs.every((need) => have.has(need));
}

/** Distinct and sorted: the canonical form stores index and compare. */
export function normalizeNeeds(needs: readonly string[]): string[] {
  return [...new Set(needs)].sort();
}
