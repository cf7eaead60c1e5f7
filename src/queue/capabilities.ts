/**
 * Matching a task's `needs` against a worker's capabilities: a worker can take a task when
 * it has every capability the task needs (`needs ⊆ capabilities`).
 */
import type { NeedsFilter } from './ready-set.js';

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
