/**
 * Which entries the merge queue takes next: pending ones whose queued dependencies merged,
 * in enqueue order, up to the batch size.
 */
import { describe, expect, it } from 'vitest';
import { readyBatch, type QueuedView } from '../../src/merge/readiness.js';

const entry = (taskId: string, seq: number, status: QueuedView['status'] = 'pending', deps: string[] = []): QueuedView => ({ taskId, seq, status, deps });

describe('readyBatch', () => {
  it('takes pending entries in enqueue order, up to the limit', () => {
    const entries = [entry('c', 3), entry('a', 1), entry('m', 2, 'merged'), entry('b', 4)];
    expect(readyBatch(entries, 2).map((e) => e.taskId)).toEqual(['a', 'c']);
    expect(readyBatch(entries, 0).map((e) => e.taskId)).toEqual(['a']);
  });

  it('holds back an entry whose queued dependency has not merged; unknown dependencies count as merged', () => {
    const entries = [entry('dep', 1), entry('child', 2, 'pending', ['dep', 'elsewhere']), entry('other', 3)];
    expect(readyBatch(entries, 10).map((e) => e.taskId)).toEqual(['dep', 'other']);
    entries[0] = entry('dep', 1, 'merged');
    expect(readyBatch(entries, 10).map((e) => e.taskId)).toEqual(['child', 'other']);
  });

  it('keeps dependents of a conflicting or failing dependency pending', () => {
    for (const status of ['conflict', 'test-failed'] as const) {
      expect(readyBatch([entry('dep', 1, status), entry('child', 2, 'pending', ['dep'])], 10)).toEqual([]);
    }
  });
});
