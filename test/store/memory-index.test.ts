/** The memory store's indexes: dispatch order, capability filtering, due retries, deferred tasks, counts. */
import { describe, expect, it } from 'vitest';
import { canServeWith } from '../../src/lifecycle/capabilities.js';
import { newTaskRow, type TaskRow } from '../../src/lifecycle/rows.js';
import { StatusIndex } from '../../src/store/memory-index.js';
import { TaskSpecSchema, type TaskSpecInput } from '../../src/tasks/spec.js';
import { T0 } from './contract/helpers.js';

let seq = 0;
const row = (id: string, extra: Partial<TaskSpecInput> = {}, changes: Partial<TaskRow> = {}): TaskRow =>
  ({ ...newTaskRow(TaskSpecSchema.parse({ id, run: ['true'], ...extra }), ++seq), status: 'ready', ...changes });

/** The ready ids best first, taking each one out as a claim would. */
function drain(index: StatusIndex, rows: Map<string, TaskRow>, capabilities: string[] = [], now = T0): string[] {
  const order: string[] = [];
  const best = (): string | undefined => index.bestReady(canServeWith(capabilities), now);
  for (let id = best(); id !== undefined; id = best()) {
    const before = rows.get(id) as TaskRow;
    const after = { ...before, status: 'assigned' as const };
    index.move(before, after);
    rows.set(id, after);
    order.push(id);
  }
  return order;
}

describe('StatusIndex', () => {
  it('hands out higher priority first, then submission order', () => {
    const index = new StatusIndex();
    const rows = new Map([row('a'), row('b', { priority: 5 }), row('c', { priority: 5 }), row('d'), row('e', { priority: -1 })].map((r) => [r.id, r]));
    for (const r of rows.values()) index.move(undefined, r);
    expect([...index.readyIds(T0)]).toEqual(['b', 'c', 'a', 'd', 'e']);
    expect(drain(index, rows)).toEqual(['b', 'c', 'a', 'd', 'e']);
    expect(index.counts()).toMatchObject({ ready: 0, assigned: 5 });
    expect(index.inFlight()).toHaveLength(5);
  });

  it('passes over tasks a worker cannot serve, which keep their place', () => {
    const index = new StatusIndex();
    const rows = new Map([row('gpu', { priority: 9, needs: ['gpu'] }), row('plain'), row('net', { needs: ['net'] })].map((r) => [r.id, r]));
    for (const r of rows.values()) index.move(undefined, r);
    expect(drain(index, rows, [])).toEqual(['plain']);
    expect([...index.readyIds(T0)]).toEqual(['gpu', 'net']);
    expect(drain(index, rows, ['gpu', 'net'])).toEqual(['gpu', 'net']);
  });

  it('keeps retries in due order, re-positioned when their time changes', () => {
    const index = new StatusIndex();
    const later = row('later', {}, { status: 'failed', readyAt: 200 });
    const sooner = row('sooner', {}, { status: 'failed', readyAt: 100 });
    index.move(undefined, later);
    index.move(undefined, sooner);
    expect(index.due(150)).toEqual(['sooner']);
    index.move(later, { ...later, readyAt: 50 });
    expect(index.due(150)).toEqual(['later', 'sooner']);
    expect(index.nextRetry()).toBe(50);
    expect(index.isSettled()).toBe(false);
  });

  it('holds a ready task with a due time back until a read at or after it, in its old place once let in', () => {
    const index = new StatusIndex();
    const rows = new Map([row('first'), row('deferred', {}, { readyAt: T0 + 100 }), row('last')].map((r) => [r.id, r]));
    for (const r of rows.values()) index.move(undefined, r);
    expect([...index.readyIds(T0)]).toEqual(['first', 'last']);
    expect(index.nextWaiting(T0)).toBe(T0 + 100);
    expect(index.counts()).toMatchObject({ ready: 3 });
    expect(index.isSettled()).toBe(false);
    expect([...index.readyIds(T0 + 100)]).toEqual(['first', 'deferred', 'last']);
    expect(index.nextWaiting(T0 + 100)).toBeNull();
    // Deferred again (a new due time), then cancelled while waiting: it leaves every index.
    const deferred = rows.get('deferred') as TaskRow;
    const again = { ...deferred, readyAt: T0 + 500 };
    index.move(deferred, again);
    expect([...index.readyIds(T0 + 100)]).toEqual(['first', 'last']);
    index.move(again, { ...again, status: 'cancelled' });
    expect([...index.readyIds(T0 + 1000)]).toEqual(['first', 'last']);
    expect(index.nextWaiting(T0)).toBeNull();
    expect(index.counts()).toMatchObject({ ready: 2, cancelled: 1 });
  });
});
