/**
 * A plain array-backed binary heap under a comparator. The memory store's heaps (ready tasks,
 * delayed retries) build on it; it also serves as the frontier when walking a heap in order
 * without disturbing it.
 */

/** A comparator: negative when `a` comes out before `b`. */
export type Order<T> = (a: T, b: T) => number;

/**
 * A binary min-heap under `order`.
 *
 * @example
 * const heap = new BinaryHeap<number>((a, b) => a - b);
 * heap.push(3); heap.push(1);
 * heap.pop(); // 1
 */
export class BinaryHeap<T> {
  private array: T[] = [];
  private changes = 0;

  constructor(private readonly order: Order<T>) {}

  /** Number of items. */
  get size(): number {
    return this.array.length;
  }

  /**
   * Bumped whenever items move (push, pop, rebuild), so a walk over {@link items} can tell
   * that the layout it was reading has changed under it.
   */
  get version(): number {
    return this.changes;
  }

  /** The backing array in heap layout: `items[i]` comes before `items[2i+1]` and `items[2i+2]`. */
  get items(): readonly T[] {
    return this.array;
  }

  /** The first item, not removed. O(1). */
  peek(): T | undefined {
    return this.array[0];
  }

  /** Adds `item`. O(log n). */
  push(item: T): void {
    this.changes++;
    this.array.push(item);
    this.siftUp(this.array.length - 1);
  }

  /** Removes and returns the first item. O(log n). */
  pop(): T | undefined {
    const array = this.array;
    const top = array[0];
    const last = array.pop();
    if (top === undefined || last === undefined) return undefined;
    this.changes++;
    if (array.length > 0) {
      array[0] = last;
      this.siftDown(0);
    }
    return top;
  }

  /** Replaces the contents with `items`, heapified in O(n). */
  rebuild(items: T[]): void {
    this.changes++;
    this.array = items;
    for (let i = (items.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  private siftUp(start: number): void {
    const array = this.array;
    const item = array[start] as T;
    let i = start;
    while (i > 0) {
      const parentIndex = (i - 1) >> 1;
      const parent = array[parentIndex] as T;
      if (this.order(item, parent) >= 0) break;
      array[i] = parent;
      i = parentIndex;
    }
    array[i] = item;
  }

  private siftDown(start: number): void {
    const array = this.array;
    const n = array.length;
    const item = array[start] as T;
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      if (right < n && this.order(array[right] as T, array[left] as T) < 0) child = right;
      const childItem = array[child] as T;
      if (this.order(childItem, item) >= 0) break;
      array[i] = childItem;
      i = child;
    }
    array[i] = item;
  }
}
