import { describe, expect, it } from 'vitest';
import { ReadyHeap, byDueTime, type HeapEntry } from '../../src/store/memory-ready-heap.js';

const entry = (id: string, priority = 0, seq = 0, readyAt = 0): HeapEntry => ({ id, priority, seq, readyAt });

/** A seeded PRNG so "random" tests are repeatable. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function drain(heap: ReadyHeap): string[] {
  const ids: string[] = [];
  for (let e = heap.pop(); e !== undefined; e = heap.pop()) ids.push(e.id);
  return ids;
}

describe('ReadyHeap', () => {
  it('pops higher priority first, FIFO among equals', () => {
    const heap = new ReadyHeap();
    heap.push(entry('a', 0, 1));
    heap.push(entry('b', 5, 2));
    heap.push(entry('c', 5, 3));
    heap.push(entry('d', -1, 4));
    heap.push(entry('e', 0, 5));
    expect(heap.peek()?.id).toBe('b');
    expect(drain(heap)).toEqual(['b', 'c', 'a', 'e', 'd']);
  });

  it('orders by due time with byDueTime', () => {
    const heap = new ReadyHeap(byDueTime);
    heap.push(entry('late', 9, 1, 200));
    heap.push(entry('soon', 0, 2, 100));
    expect(drain(heap)).toEqual(['soon', 'late']);
  });

  it('removes by id and re-pushes an id in a new position', () => {
    const heap = new ReadyHeap();
    heap.push(entry('a', 0, 1));
    heap.push(entry('b', 0, 2));
    heap.push(entry('c', 0, 3));
    expect(heap.remove('a')).toBe(true);
    expect(heap.remove('a')).toBe(false);
    heap.push(entry('c', 10, 3));
    expect(heap.size).toBe(2);
    expect(heap.has('a')).toBe(false);
    expect(drain(heap)).toEqual(['c', 'b']);
  });

  it('matches a sorted reference under random pushes and removals, compacting on the way', () => {
    const random = mulberry32(7);
    const heap = new ReadyHeap();
    const reference = new Map<string, HeapEntry>();
    for (let i = 0; i < 2_000; i++) {
      const id = `t${Math.floor(random() * 300)}`;
      if (random() < 0.4) {
        heap.remove(id);
        reference.delete(id);
      } else {
        const e = entry(id, Math.floor(random() * 5), i);
        heap.push(e);
        reference.set(id, e);
      }
    }
    const expected = [...reference.values()].sort((x, y) => y.priority - x.priority || x.seq - y.seq).map((e) => e.id);
    expect([...heap.ordered()].map((e) => e.id)).toEqual(expected);
    expect(drain(heap)).toEqual(expected);
  });

  describe('ordered()', () => {
    it('walks in order without removing anything', () => {
      const heap = new ReadyHeap();
      ['a', 'b', 'c', 'd'].forEach((id, i) => heap.push(entry(id, i % 2, i)));
      expect([...heap.ordered()].map((e) => e.id)).toEqual(['b', 'd', 'a', 'c']);
      expect(heap.size).toBe(4);
    });

    it('tolerates removals while walking', () => {
      const heap = new ReadyHeap();
      for (let i = 0; i < 50; i++) heap.push(entry(`t${i}`, 0, i));
      const seen: string[] = [];
      for (const e of heap.ordered()) {
        seen.push(e.id);
        heap.remove(e.id);
        heap.remove(`t${Number(e.id.slice(1)) + 1}`); // also drop the next one
      }
      expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => `t${2 * i}`));
    });

    it('restarts after a push without yielding anything twice', () => {
      const heap = new ReadyHeap();
      for (let i = 0; i < 10; i++) heap.push(entry(`t${i}`, 0, i));
      const seen: string[] = [];
      for (const e of heap.ordered()) {
        seen.push(e.id);
        if (e.id === 't2') heap.push(entry('urgent', 9, 100));
      }
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen.slice(0, 3)).toEqual(['t0', 't1', 't2']);
      expect(seen).toContain('urgent');
      expect(seen).toHaveLength(11);
    });
  });
});
