/**
 * Recovery: heartbeats, expired leases reaped as `LEASE_EXPIRED`, a node's tasks released
 * without burning attempts, drains, blocking, cancelling and redriving dead tasks.
 */
import { describe, expect, it } from 'vitest';
import type { TaskError } from '../../../src/store/task-store.js';
import { T0, codeOf, completion, failure, mustClaim, spec, statusOf, withStore, type MakeStore } from './helpers.js';

/** Registers the recovery tests. */
export function recoveryContract(make: MakeStore): void {
  describe('leases and recovery', () => {
    it('extends current leases on heartbeat and reaps only what expired, as a retryable attempt', () =>
      withStore(make, async (store) => {
        await store.submit([spec('a', { maxAttempts: 2 }), spec('b', { maxAttempts: 2 }), spec('c')], T0);
        const a = await mustClaim(store, T0, { leaseMs: 1000, nodeId: 'n1', workerId: 'w1' });
        const b = await mustClaim(store, T0, { leaseMs: 1000, nodeId: 'n2', workerId: 'w2' });
        expect(await store.extendLeases([a.lease, 'stale'], 5000, T0 + 900)).toBe(1);
        expect((await store.get('a'))?.leaseExpiresAt).toBe(T0 + 5900);
        expect(await store.nextDueMs(T0 + 900)).toBe(100);
        expect(await store.reapExpired(T0 + 999)).toEqual([]);
        const reaped = await store.reapExpired(T0 + 1000);
        expect(reaped).toEqual([{ taskId: 'b', lease: b.lease, nodeId: 'n2', workerId: 'w2', outcome: { status: 'ready', retryAt: T0 + 1000, blocked: [] } }]);
        expect(await store.get('b')).toMatchObject({
          status: 'ready', lease: null, worker: null, node: null,
          error: { code: 'LEASE_EXPIRED', details: { node: 'n2', worker: 'w2', expiredAt: T0 + 1000 } },
        });
        expect((await store.get('b'))?.attempts[0]).toMatchObject({ code: 'LEASE_EXPIRED', finishedAt: new Date(T0 + 1000).toISOString(), node: 'n2' });
        expect(await store.complete('b', b.lease, completion(T0 + 1001))).toBe(false);
        const again = await mustClaim(store, T0 + 1001, { taskId: 'b', leaseMs: 10 });
        expect(again.attempt).toBe(2);
        expect((await store.reapExpired(T0 + 2000)).map((r) => [r.taskId, r.outcome.status])).toEqual([['b', 'dead']]);
        expect(await statusOf(store, 'a')).toBe('assigned');
      }, { random: () => 0 }));

    it('releases a node\'s tasks (a restart after a crash) without burning attempts', () =>
      withStore(make, async (store) => {
        await store.submit([spec('a'), spec('b'), spec('c')], T0);
        const a = await mustClaim(store, T0, { nodeId: 'crashed' });
        await store.markRunning('a', a.lease, T0 + 1);
        await mustClaim(store, T0, { nodeId: 'alive' });
        await mustClaim(store, T0, { nodeId: 'crashed' });
        expect(await store.releaseNode('crashed', T0 + 5)).toEqual(['a', 'c']);
        expect(await store.get('a')).toMatchObject({ status: 'ready', attempts: [], releases: 1, lease: null, node: null, worker: null, startedAt: null, readyAt: 0 });
        expect(await store.inFlight()).toEqual([expect.objectContaining({ taskId: 'b', nodeId: 'alive' })]);
        expect(await store.complete('a', a.lease, completion(T0 + 6))).toBe(false);
        expect((await mustClaim(store, T0 + 6)).attempt).toBe(1);
        expect(await store.releaseNode('nobody', T0)).toEqual([]);
      }));

    it('releases one task (drain) back to ready, keeping its place', () =>
      withStore(make, async (store) => {
        await store.submit([spec('a', { priority: 1 }), spec('b')], T0);
        const a = await mustClaim(store, T0);
        expect(await store.release('a', a.lease, T0 + 1, 'drain deadline reached')).toBe(true);
        expect(await store.release('a', a.lease, T0 + 1, 'drain deadline reached')).toBe(false);
        expect((await mustClaim(store, T0 + 2)).task.spec.id).toBe('a');
        const released = (await store.events(0, 100)).find((e) => e.type === 'task.released');
        expect(released).toMatchObject({ taskId: 'a', nodeId: 'n1', at: T0 + 1, data: { attempt: 1, reason: 'drain deadline reached', crash: false } });
      }));

    it('blocks a ready or assigned task and its dependents, revoking the lease and counting no attempt', () =>
      withStore(make, async (store) => {
        await store.submit([spec('a'), spec('b', { deps: ['a'] }), spec('c')], T0);
        const a = await mustClaim(store, T0, { taskId: 'a' });
        const conflict = { code: 'DEP_CONFLICT', message: 'conflict', details: { files: ['x'] } } satisfies TaskError;
        expect(await store.block('a', conflict, T0 + 1)).toEqual(['a', 'b']);
        expect(await store.get('a')).toMatchObject({ status: 'blocked', error: conflict, lease: null, leaseExpiresAt: null });
        // It never ran: the claim is taken back (in the history), no attempt counted.
        expect((await store.get('a'))?.attempts).toEqual([]);
        expect((await store.get('a'))?.released).toMatchObject([{ attempt: 1, reason: 'blocked before it started: DEP_CONFLICT', crash: false }]);
        expect((await store.get('b'))?.error).toMatchObject({ code: 'DEP_DEAD', message: 'dependency "a" is blocked' });
        expect(await store.complete('a', a.lease, completion(T0 + 2))).toBe(false);
        expect(await store.block('a', conflict, T0)).toEqual([]);
        expect(await codeOf(() => store.block('zz', conflict, T0))).toBe('TASK_NOT_FOUND');
        expect(await store.inFlight()).toEqual([]);
      }));

    it('cancels any task not yet terminal, blocking its dependents', () =>
      withStore(make, async (store) => {
        await store.submit([spec('a'), spec('b', { deps: ['a'] }), spec('c')], T0);
        expect(await store.cancel('a', T0)).toEqual(['a', 'b']);
        expect(await store.get('a')).toMatchObject({ status: 'cancelled', error: { code: 'TASK_CANCELLED' } });
        expect((await store.get('b'))?.error?.message).toBe('dependency "a" was cancelled');
        const c = await mustClaim(store, T0);
        expect(await store.cancel('c', T0)).toEqual(['c']);
        expect(await store.complete('c', c.lease, completion(T0))).toBe(false);
        expect(await store.cancel('c', T0)).toEqual([]);
        expect(await codeOf(() => store.cancel('zz', T0))).toBe('TASK_NOT_FOUND');
        expect(await store.isSettled()).toBe(true);
      }));

    it('redrives a dead task with a fresh budget, bringing back what its death blocked', () =>
      withStore(make, async (store) => {
        await store.submit([
          spec('a', { maxAttempts: 2 }), spec('other'), spec('b', { deps: ['a'] }), spec('c', { deps: ['b', 'other'] }),
          spec('d', { deps: ['a', 'x'] }), spec('x'), spec('k', { deps: ['a'] }),
        ], T0);
        expect(await store.cancel('k', T0)).toEqual(['k']);
        for (const now of [T0, T0 + 1]) {
          const claim = await mustClaim(store, now, { taskId: 'a' });
          await store.fail('a', claim.lease, failure(now));
        }
        const x = await mustClaim(store, T0, { taskId: 'x' });
        await store.fail('x', x.lease, failure(T0, { retryable: false }));
        expect(await store.redrive('other', T0)).toEqual([]);
        expect(await store.redrive('a', T0 + 10)).toEqual(['a', 'b', 'c']);
        expect(await store.get('a')).toMatchObject({ status: 'ready', attemptBase: 2, error: null, finishedAt: null, exitCode: null });
        expect((await store.get('a'))?.attempts).toHaveLength(2);
        expect(await store.get('b')).toMatchObject({ status: 'pending', error: null, finishedAt: null, unmetDeps: 1 });
        expect(await store.get('c')).toMatchObject({ status: 'pending', unmetDeps: 2 });
        expect(await statusOf(store, 'd')).toBe('blocked'); // x is still dead
        expect(await statusOf(store, 'k')).toBe('cancelled');
        const third = await mustClaim(store, T0 + 11, { taskId: 'a' });
        expect(third.attempt).toBe(3);
        expect((await store.fail('a', third.lease, failure(T0 + 12)))?.status).toBe('ready'); // budget: 1 of 2 used
        const fourth = await mustClaim(store, T0 + 12, { taskId: 'a' });
        expect(fourth.attempt).toBe(4);
        expect(await store.complete('a', fourth.lease, completion(T0 + 13))).toBe(true);
        expect(await statusOf(store, 'b')).toBe('ready');
        expect(await codeOf(() => store.redrive('zz', T0))).toBe('TASK_NOT_FOUND');
        const tail = (await store.events(0, 100)).filter((e) => e.type === 'task.redriven' || e.type === 'task.unblocked');
        expect(tail.map((e) => `${e.type}:${e.taskId}`)).toEqual(['task.redriven:a', 'task.unblocked:b', 'task.unblocked:c']);
        expect(tail[0]?.data).toEqual({ attemptBase: 2 });
      }, { random: () => 0 }));
  });
}
