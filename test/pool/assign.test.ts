import { describe, expect, it } from 'vitest';
import { canEverRun, createRoundRobin, hasCapabilities, type WorkerSlot } from '../../src/pool/assign.js';
import { createTaskRecord } from '../../src/lifecycle/record-of-rows.js';
import type { TaskRecord } from '../../src/lifecycle/task-record.js';
import { TaskSpecSchema } from '../../src/tasks/spec.js';

const task = (needs: string[] = []): TaskRecord => createTaskRecord(TaskSpecSchema.parse({ id: 't', run: ['true'], needs }), 1);
const slot = (workerId: string, capabilities: string[] = [], idle = true): WorkerSlot => ({ workerId, capabilities, idle });

describe('createRoundRobin', () => {
  it('cycles through idle workers', () => {
    const pick = createRoundRobin();
    const workers = [slot('w1'), slot('w2'), slot('w3')];
    const picks = Array.from({ length: 4 }, () => pick(task(), workers)?.workerId);
    expect(picks).toEqual(['w1', 'w2', 'w3', 'w1']);
  });

  it('skips busy workers and workers lacking a capability', () => {
    const pick = createRoundRobin();
    const workers = [slot('w1', ['gpu'], false), slot('w2'), slot('w3', ['gpu', 'net'])];
    expect(pick(task(['gpu']), workers)?.workerId).toBe('w3');
    expect(pick(task(['gpu']), workers)?.workerId).toBe('w3');
    expect(pick(task(), workers)?.workerId).toBe('w2');
  });

  it('returns null when no idle worker can take the task', () => {
    const pick = createRoundRobin();
    expect(pick(task(), [])).toBeNull();
    expect(pick(task(['gpu']), [slot('w1'), slot('w2', ['gpu'], false)])).toBeNull();
  });

  it('keeps its cursor on the worker id when the list changes', () => {
    const pick = createRoundRobin();
    expect(pick(task(), [slot('w1'), slot('w2'), slot('w3')])?.workerId).toBe('w1');
    // w0 joined in front: the next pick is still the one after w1.
    expect(pick(task(), [slot('w0'), slot('w1'), slot('w2'), slot('w3')])?.workerId).toBe('w2');
    // the last pick left: start from the top.
    expect(pick(task(), [slot('w0'), slot('w3')])?.workerId).toBe('w0');
  });
});

describe('capability checks', () => {
  it('hasCapabilities needs every capability', () => {
    expect(hasCapabilities(slot('w', ['a', 'b']), ['a', 'b'])).toBe(true);
    expect(hasCapabilities(slot('w', ['a']), ['a', 'b'])).toBe(false);
    expect(hasCapabilities(slot('w'), [])).toBe(true);
  });

  it('canEverRun looks at every worker, idle or not', () => {
    const workers = [slot('w1', [], false), slot('w2', ['gpu'], false)];
    expect(canEverRun({ needs: ['gpu'] }, workers)).toBe(true);
    expect(canEverRun({ needs: ['tpu'] }, workers)).toBe(false);
    expect(canEverRun({ needs: [] }, [])).toBe(false);
  });
});
