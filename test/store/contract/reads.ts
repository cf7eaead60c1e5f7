/**
 * Reading the store: counts, settledness, due times, the event log, and the run summary
 * built from `list()` alone.
 */
import { describe, expect, it } from 'vitest';
import { T0, completion, failure, mustClaim, runOne, spec, withStore, type MakeStore } from './helpers.js';
import { summarize } from './summary.js';

/** Registers the read tests. */
export function readsContract(make: MakeStore): void {
  describe('reads and the event log', () => {
    it('counts every status and knows when the queue is settled', () =>
      withStore(make, async (store) => {
        expect(await store.isSettled()).toBe(true);
        expect(await store.nextDueMs(T0)).toBeNull();
        await store.submit([spec('a'), spec('b', { deps: ['a'] })], T0);
        expect(await store.counts()).toEqual({ pending: 1, ready: 1, assigned: 0, running: 0, failed: 0, complete: 0, dead: 0, blocked: 0, cancelled: 0 });
        await runOne(store, T0);
        await runOne(store, T0);
        expect(await store.isSettled()).toBe(true);
        expect(await store.counts()).toMatchObject({ complete: 2, pending: 0, ready: 0 });
      }));

    it('keeps an append-only event log, readable in pages, with callers\' own events', () =>
      withStore(make, async (store) => {
        await store.submit([spec('a')], T0);
        await store.appendEvent({ at: T0 + 1, type: 'supervisor.started', taskId: null, nodeId: 'n1', data: { pid: 42, args: ['--once'] } });
        const claim = await mustClaim(store, T0 + 2);
        await store.markRunning('a', claim.lease, T0 + 3);
        await store.complete('a', claim.lease, completion(T0 + 4));
        const all = await store.events(0, 100);
        expect(all.map((e) => e.type)).toEqual(['task.submitted', 'supervisor.started', 'task.claimed', 'task.started', 'task.completed']);
        expect(all.map((e) => e.id)).toEqual([1, 2, 3, 4, 5]);
        expect(all[1]).toEqual({ id: 2, at: T0 + 1, type: 'supervisor.started', taskId: null, nodeId: 'n1', data: { pid: 42, args: ['--once'] } });
        expect(all[4]).toEqual({ id: 5, at: T0 + 4, type: 'task.completed', taskId: 'a', nodeId: 'n1', data: { attempt: 1, exitCode: 0 } });
        expect((await store.events(2, 2)).map((e) => e.id)).toEqual([3, 4]);
        expect(await store.events(5, 10)).toEqual([]);
        expect((await store.latestEvents(2)).map((e) => e.id)).toEqual([4, 5]);
        expect(await store.latestEvents(100)).toEqual(all);
        expect(await store.latestEvents(0)).toEqual([]);
      }));

    it('holds everything the run summary needs: statuses, attempts with nodes, errors, results', () =>
      withStore(make, async (store) => {
        await store.submit([spec('ok'), spec('bad'), spec('after', { deps: ['bad'] })], T0);
        const ok = await mustClaim(store, T0, { taskId: 'ok', nodeId: 'host-a', workerId: 'w1' });
        await store.markRunning('ok', ok.lease, T0 + 1);
        await store.complete('ok', ok.lease, completion(T0 + 2, { lines: 3 }));
        const bad = await mustClaim(store, T0, { taskId: 'bad', nodeId: 'host-b', workerId: 'w2' });
        await store.fail('bad', bad.lease, failure(T0 + 3, { retryable: false }));
        expect(summarize(await store.list())).toEqual({
          counts: { complete: 1, dead: 1, blocked: 1 },
          tasks: [
            { id: 'ok', status: 'complete', attempts: 1, nodes: ['host-a'], workers: ['w1'], error: null, result: { lines: 3 }, commit: 'c0ffee', startedAt: new Date(T0 + 1).toISOString(), finishedAt: new Date(T0 + 2).toISOString() },
            { id: 'bad', status: 'dead', attempts: 1, nodes: ['host-b'], workers: ['w2'], error: 'TASK_EXIT_NONZERO', result: null, commit: null, startedAt: null, finishedAt: new Date(T0 + 3).toISOString() },
            { id: 'after', status: 'blocked', attempts: 0, nodes: [], workers: [], error: 'DEP_DEAD', result: null, commit: null, startedAt: null, finishedAt: new Date(T0 + 3).toISOString() },
          ],
        });
      }));
  });
}
