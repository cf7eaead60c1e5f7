/** The memory store's indexes: dispatch order, capability filtering, due retries, counts. */
import { describe, expect, it } from 'vitest';
import { canServeWith } from '../../src/lifecycle/capabilities.js';
import { newTaskRow, type TaskRow } from '../../src/lifecycle/rows.js';
import { StatusIndex } from '../../src/store/memory-index.js';
import { TaskSpecSchema, type TaskSpecInput } from '../../src/tasks/spec.js';

let seq = 0;
const row = (id: string, extra: Partial<TaskSpecInput> = {}, changes: Partial<TaskRow> = {}): TaskRow =>
  ({ ...newTaskRow(TaskSpecSchema.parse({ id, run: ['true'], ...extra }), ++seq), status: 'ready', ...changes });

/** The ready ids best first, taking each one out as a claim would. */
function drain(index: StatusIndex, rows: Map<string, TaskRow>, capabilities: string[] = []): string[] {
  const order: string[] = [];
  for (let id = index.bestReady(canServeWith(capabilities)); id !== undefined; id = index.bestReady(canServeWith(capabilities))) {
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
    expect([...index.readyIds()]).toEqual(['b', 'c', 'a', 'd', 'e']);
    expect(drain(index, rows)).toEqual(['b', 'c', 'a', 'd', 'e']);
    expect(index.counts()).toMatchObject({ ready: 0, assigned: 5 });
    expect(index.inFlight()).toHaveLength(5);
  });

  it('passes over tasks a worker cannot serve, which keep their place', () => {
    const index = new StatusIndex();
    const rows = new Map([row('gpu', { priority: 9, needs: ['gpu'] }), row('plain'), row('net', { needs: ['net'] })].map((r) => [r.id, r]));
    for (const r of rows.values()) index.move(undefined, r);
    expect(drain(index, rows, [])).toEqual(['plain']);
    expect([...index.readyIds()]).toEqual(['gpu', 'net']);
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
});
