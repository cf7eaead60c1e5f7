/**
 * Claiming: order (priority, then submission), capabilities, exact claims, leases with
 * expiry, attempts recorded with node and worker, and peeking without claiming.
 */
import { describe, expect, it } from 'vitest';
import type { TaskStore } from '../../../src/store/task-store.js';
import { T0, mustClaim, spec, withStore, type MakeStore } from './helpers.js';

async function drainIds(store: TaskStore, capabilities: string[] = []): Promise<string[]> {
  const ids: string[] = [];
  for (;;) {
    const claim = await store.claim({ nodeId: 'n1', workerId: 'w1', capabilities, leaseMs: 1000, now: T0 });
    if (claim === null) return ids;
    ids.push(claim.task.spec.id);
  }
}

/** Registers the claim tests. */
export function claimContract(make: MakeStore): void {
  describe('claim', () => {
    it('hands out higher priority first, then submission order', () =>
      withStore(make, async (store) => {
        await store.submit([spec('a'), spec('b', { priority: 5 }), spec('c', { priority: 5 }), spec('d'), spec('e', { priority: -1 })], T0);
        expect((await store.peekReady(T0, 3)).map((r) => r.spec.id)).toEqual(['b', 'c', 'a']);
        expect(await drainIds(store)).toEqual(['b', 'c', 'a', 'd', 'e']);
        expect(await store.peekReady(T0, 10)).toEqual([]);
      }));

    it('gives a worker only tasks whose needs are a subset of its capabilities, passing over the rest', () =>
      withStore(make, async (store) => {
        await store.submit([spec('gpu', { needs: ['gpu'], priority: 9 }), spec('both', { needs: ['net', 'gpu'] }), spec('plain')], T0);
        expect(await drainIds(store, ['net'])).toEqual(['plain']);
        expect(await drainIds(store, ['gpu'])).toEqual(['gpu']);
        expect(await drainIds(store, ['gpu', 'net', 'disk'])).toEqual(['both']);
      }));

    it('claims exactly the task asked for, only if it is ready and servable', () =>
      withStore(make, async (store) => {
        await store.submit([spec('a'), spec('b', { needs: ['gpu'] }), spec('c', { deps: ['a'] })], T0);
        const ask = (taskId: string, capabilities: string[] = []) =>
          store.claim({ nodeId: 'n1', workerId: 'w1', capabilities, leaseMs: 1000, now: T0, taskId });
        expect(await ask('c')).toBeNull();
        expect(await ask('b')).toBeNull();
        expect(await ask('nope')).toBeNull();
        expect((await ask('b', ['gpu']))?.task.spec.id).toBe('b');
        expect(await ask('b', ['gpu'])).toBeNull();
      }));

    it('issues a lease with an expiry and records the attempt with node and worker', () =>
      withStore(make, async (store) => {
        await store.submit([spec('a')], T0);
        const claim = await mustClaim(store, T0, { nodeId: 'host-a', workerId: 'w3', leaseMs: 15_000 });
        expect(claim).toMatchObject({ attempt: 1, expiresAt: T0 + 15_000 });
        expect(claim.lease).toMatch(/^[A-Za-z0-9_-]{16,}$/);
        expect(claim.task).toMatchObject({ status: 'assigned', lease: claim.lease, leaseExpiresAt: T0 + 15_000, worker: 'w3', node: 'host-a' });
        expect(claim.task.attempts).toEqual([{
          attempt: 1, node: 'host-a', worker: 'w3', lease: claim.lease, assignedAt: new Date(T0).toISOString(),
          startedAt: null, finishedAt: null, exitCode: null, code: null, message: null, session: null, usage: null,
        }]);
        expect(await store.inFlight()).toEqual([{ taskId: 'a', lease: claim.lease, nodeId: 'host-a', workerId: 'w3', expiresAt: T0 + 15_000 }]);
        expect(await store.inFlight('host-b')).toEqual([]);
        expect(await store.claim({ nodeId: 'n2', workerId: 'w1', capabilities: [], leaseMs: 1, now: T0 })).toBeNull();
        const events = await store.events(0, 10);
        expect(events[1]).toMatchObject({ type: 'task.claimed', taskId: 'a', nodeId: 'host-a', at: T0, data: { attempt: 1, worker: 'w3', expiresAt: T0 + 15_000 } });
      }));

    it('marks a claimed task running once, stamping the start', () =>
      withStore(make, async (store) => {
        await store.submit([spec('a')], T0);
        const claim = await mustClaim(store, T0);
        expect(await store.markRunning('a', claim.lease, T0 + 10)).toBe(true);
        expect(await store.markRunning('a', claim.lease, T0 + 20)).toBe(false);
        const record = await store.get('a');
        expect(record).toMatchObject({ status: 'running', startedAt: new Date(T0 + 10).toISOString() });
        expect(record?.attempts[0]?.startedAt).toBe(new Date(T0 + 10).toISOString());
      }));

    it('never hands one task to two of many concurrent claims', () =>
      withStore(make, async (store) => {
        await store.submit(Array.from({ length: 50 }, (_, i) => spec(`t${i}`)), T0);
        const claims = await Promise.all(
          Array.from({ length: 80 }, (_, i) => store.claim({ nodeId: 'n1', workerId: `w${i}`, capabilities: [], leaseMs: 1000, now: T0 })),
        );
        const ids = claims.flatMap((c) => (c === null ? [] : [c.task.spec.id]));
        expect(ids).toHaveLength(50);
        expect(new Set(ids).size).toBe(50);
      }));
  });
}
