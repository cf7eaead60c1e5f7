/**
 * The memory store's index of ready tasks, split into one {@link ReadyHeap} per distinct
 * capability set (`needs`): what SQL's `tasks_ready` index and `needs ⊆ capabilities` test are
 * to the other stores.
 *
 * Why split: a claim must be able to pass over a ready task its worker cannot take (a `gpu`
 * task for a CPU worker) without losing it and without walking past every such task each
 * time. With one heap per capability set, "the best task this worker can take" costs one
 * check per capability set with work, whatever the queue length.
 * Real task graphs have a handful of distinct sets; a graph where every task has its own set
 * degrades to a scan, which is the honest cost of that shape.
 */
import type { NeedsFilter } from '../lifecycle/capabilities.js';
import { ReadyHeap, byReadiness, type HeapEntry } from './memory-ready-heap.js';

interface Bucket {
  /** Distinct and sorted. */
  readonly needs: readonly string[];
  readonly heap: ReadyHeap;
}

/** Ready tasks grouped by capability set, each group ordered by {@link byReadiness}. */
export class ReadySet {
  private readonly buckets = new Map<string, Bucket>();

  /** Adds (or re-positions) the task `entry.id` needing `needs`. O(log n). */
  add(entry: HeapEntry, needs: readonly string[]): void {
    const key = needsKey(needs);
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      bucket = { needs: distinctSorted(needs), heap: new ReadyHeap(byReadiness) };
      this.buckets.set(key, bucket);
    }
    bucket.heap.push(entry);
  }

  /** Removes the task `id` (added with the same `needs`). O(1) amortised. */
  remove(id: string, needs: readonly string[]): void {
    const key = needsKey(needs);
    const bucket = this.buckets.get(key);
    if (bucket === undefined) return;
    bucket.heap.remove(id);
    // Dropping empty buckets keeps peek's loop to the capability sets that have work.
    if (bucket.heap.size === 0) this.buckets.delete(key);
  }

  /** The best entry among capability sets passing `canServe` (all when omitted), not removed. */
  peek(canServe?: NeedsFilter): HeapEntry | undefined {
    let best: HeapEntry | undefined;
    for (const bucket of this.buckets.values()) {
      if (canServe !== undefined && !canServe(bucket.needs)) continue;
      const top = bucket.heap.peek();
      if (top !== undefined && (best === undefined || byReadiness(top, best) < 0)) best = top;
    }
    return best;
  }

  /**
   * The entries of capability sets passing `canServe` (all when omitted), best first, without
   * removing them: a merge of each set's in-order walk (see {@link ReadyHeap.ordered}), so
   * reading the first k costs O(k (log k + sets)). Removing entries meanwhile is safe; the
   * other sets' next entries were read earlier, so a caller should re-check what it gets.
   */
  *ordered(canServe?: NeedsFilter): Generator<HeapEntry, void, undefined> {
    const walks: Array<{ walk: Generator<HeapEntry, void, undefined>; head: HeapEntry | undefined }> = [];
    for (const bucket of this.buckets.values()) {
      if (canServe !== undefined && !canServe(bucket.needs)) continue;
      const walk = bucket.heap.ordered();
      walks.push({ walk, head: walk.next().value ?? undefined });
    }
    for (;;) {
      let best: (typeof walks)[number] | undefined;
      for (const candidate of walks) {
        if (candidate.head !== undefined && (best?.head === undefined || byReadiness(candidate.head, best.head) < 0)) {
          best = candidate;
        }
      }
      if (best?.head === undefined) return;
      yield best.head;
      // Advanced only now, after the caller acted on what it got.
      best.head = best.walk.next().value ?? undefined;
    }
  }
}

function distinctSorted(values: readonly string[]): string[] {
  return [...new Set(values)].sort();
}

/** JSON of the distinct sorted set: unambiguous whatever characters a capability holds. */
function needsKey(needs: readonly string[]): string {
  return needs.length === 0 ? '' : JSON.stringify(distinctSorted(needs));
}
