/**
 * A heap of task references with removal by id. The memory store keeps one per capability
 * set for ready tasks (ordered by {@link byReadiness}) and one for tasks waiting out a retry
 * backoff (ordered by {@link byDueTime}).
 *
 * Removal is lazy: `remove(id)` forgets the id in O(1) and the stale array entry is skipped
 * when it surfaces. When stale entries outnumber live ones the heap is rebuilt (O(n),
 * amortised O(1) per removal), so cancelling most of a large queue leaves no garbage behind.
 */
import { BinaryHeap, type Order } from './memory-binary-heap.js';

/** What the heap orders: a task id and the keys it is ordered by. */
export interface HeapEntry {
  readonly id: string;
  readonly priority: number;
  /** Submission sequence: FIFO among equal priorities. */
  readonly seq: number;
  /** Epoch ms before which the task must not run (retry backoff); 0 when not delayed. */
  readonly readyAt: number;
}

/** A comparator over entries: negative when `a` comes out before `b`. */
export type EntryOrder = Order<HeapEntry>;

/** Higher priority first, then earlier submission. */
export const byReadiness: EntryOrder = (a, b) => {
  if (a.priority !== b.priority) return a.priority > b.priority ? -1 : 1;
  return a.seq - b.seq;
};

/** Earliest `readyAt` first, then {@link byReadiness}. */
export const byDueTime: EntryOrder = (a, b) => {
  if (a.readyAt !== b.readyAt) return a.readyAt < b.readyAt ? -1 : 1;
  return byReadiness(a, b);
};

/**
 * A heap of {@link HeapEntry} under `order`, at most one live entry per id.
 *
 * @example
 * const heap = new ReadyHeap();
 * heap.push({ id: 'a', priority: 0, seq: 1, readyAt: 0 });
 * heap.push({ id: 'b', priority: 5, seq: 2, readyAt: 0 });
 * heap.pop()?.id; // 'b'
 */
export class ReadyHeap {
  private readonly heap: BinaryHeap<HeapEntry>;
  /** The current entry per id; an entry in the heap not identical to it is stale. */
  private readonly live = new Map<string, HeapEntry>();

  constructor(private readonly order: EntryOrder = byReadiness) {
    this.heap = new BinaryHeap(order);
  }

  /** Number of live entries. */
  get size(): number {
    return this.live.size;
  }

  /** True when `id` has a live entry. */
  has(id: string): boolean {
    return this.live.has(id);
  }

  /** Adds `entry`, replacing any live entry with the same id. O(log n). */
  push(entry: HeapEntry): void {
    this.live.set(entry.id, entry);
    this.heap.push(entry);
    this.compactIfMostlyStale();
  }

  /** The first live entry, not removed. Amortised O(log n). */
  peek(): HeapEntry | undefined {
    let top = this.heap.peek();
    while (top !== undefined && this.isStale(top)) {
      this.heap.pop();
      top = this.heap.peek();
    }
    return top;
  }

  /** Removes and returns the first live entry. O(log n). */
  pop(): HeapEntry | undefined {
    const top = this.peek();
    if (top === undefined) return undefined;
    this.live.delete(top.id);
    this.heap.pop();
    return top;
  }

  /** Forgets `id`; true when it had a live entry. O(1) amortised. */
  remove(id: string): boolean {
    const removed = this.live.delete(id);
    if (removed) this.compactIfMostlyStale();
    return removed;
  }

  /**
   * The live entries in order, without removing them: a best-first walk of the heap tree,
   * O(k log k) for the first k entries, so a caller that stops early pays for what it read.
   *
   * Removing entries while walking is safe (they are skipped). If entries are added or
   * popped meanwhile, the walk notices the changed layout and restarts from the top, skipping
   * what it already yielded; entries added during the walk may or may not be seen.
   */
  *ordered(): Generator<HeapEntry, void, undefined> {
    const yielded = new Set<string>();
    restart: for (;;) {
      const version = this.heap.version;
      const items = this.heap.items;
      const frontier = new BinaryHeap<number>((a, b) => this.order(items[a] as HeapEntry, items[b] as HeapEntry));
      if (items.length > 0) frontier.push(0);
      for (let index = frontier.pop(); index !== undefined; index = frontier.pop()) {
        const entry = items[index] as HeapEntry;
        if (2 * index + 1 < items.length) frontier.push(2 * index + 1);
        if (2 * index + 2 < items.length) frontier.push(2 * index + 2);
        if (this.isStale(entry) || yielded.has(entry.id)) continue;
        yielded.add(entry.id);
        yield entry;
        if (this.heap.version !== version) continue restart;
      }
      return;
    }
  }

  private isStale(entry: HeapEntry): boolean {
    return this.live.get(entry.id) !== entry;
  }

  private compactIfMostlyStale(): void {
    if (this.heap.size <= 2 * this.live.size + 32) return;
    this.heap.rebuild(this.heap.items.filter((entry) => !this.isStale(entry)));
  }
}
