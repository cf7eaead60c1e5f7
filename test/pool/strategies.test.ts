import { describe, expect, it } from 'vitest';
import { createCapability, createLocality, type WorkerSlot } from '../../src/pool/assign.js';
import { createTaskRecord } from '../../src/lifecycle/record-of-rows.js';
import type { TaskRecord } from '../../src/store/task-store.js';
import { TaskSpecSchema } from '../../src/tasks/spec.js';

const task = (id: string, deps: string[] = [], needs: string[] = []): TaskRecord => createTaskRecord(TaskSpecSchema.parse({ id, run: ['true'], deps, needs }), 1);
const slot = (workerId: string, idle = true, capabilities: string[] = []): WorkerSlot => ({ workerId, idle, capabilities });

describe('capability assignment', () => {
  it('gives a task the least specialised capable worker, keeping the rare capability free', () => {
    const pick = createCapability();
    const workers = [slot('gpu', true, ['gpu', 'node']), slot('plain', true, ['node'])];
    expect(pick(task('a', [], ['node']), workers)?.workerId).toBe('plain');
    expect(pick(task('b', [], ['gpu']), workers)?.workerId).toBe('gpu');
    expect(pick(task('c', [], ['rust']), workers)).toBeNull();
  });

  it('spreads ties round robin', () => {
    const pick = createCapability();
    const workers = [slot('w1'), slot('w2')];
    expect([pick(task('a'), workers)?.workerId, pick(task('b'), workers)?.workerId]).toEqual(['w1', 'w2']);
  });
});

describe('locality assignment', () => {
  const ranOn: Record<string, string> = { dep: 'w2' };
  const inService = new Set(['w1', 'w2', 'w3']);
  const pick = createLocality({ preferred: (t) => (t.spec.deps[0] === undefined ? null : ranOn[t.spec.deps[0]] ?? null), inService: (id) => inService.has(id) });

  it('runs a dependent on the worker that ran its dependency', () => {
    expect(pick(task('next', ['dep']), [slot('w1'), slot('w2'), slot('w3')])?.workerId).toBe('w2');
  });

  it('keeps it for that worker while it is busy, and an idle worker may steal it', () => {
    const workers = [slot('w1'), slot('w3')];
    expect(pick(task('next', ['dep']), workers)).toBeNull();
    expect(pick.steal?.(task('next', ['dep']), workers)?.workerId).toBe('w1');
  });

  it('does not wait for a worker out of service, or one without the capability', () => {
    inService.delete('w2');
    expect(pick(task('next', ['dep']), [slot('w1')])?.workerId).toBe('w1');
    inService.add('w2');
    expect(pick(task('gpu', ['dep'], ['gpu']), [slot('w2', true, []), slot('w3', true, ['gpu'])])?.workerId).toBe('w3');
  });

  it('places a task without a dependency round robin', () => {
    expect(pick(task('free'), [slot('w1'), slot('w3')])).not.toBeNull();
  });
});
