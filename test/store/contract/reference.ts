/**
 * Identical semantics: one scripted run touching every operation, played on the store under
 * test and on the in-memory reference with the same seeded random, must answer every call
 * the same way and leave the same records and the same event log (leases aside).
 */
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../../src/store/memory-store.js';
import type { TaskStore } from '../../../src/store/task-store.js';
import { T0, completion, failure, mustClaim, normalize, seeded, spec, withStore, type MakeStore } from './helpers.js';

/** Plays the script; returns every answer, leases replaced by their claim's position. */
async function script(store: TaskStore): Promise<unknown[]> {
  const trace: unknown[] = [];
  const leases: string[] = [];
  const claim = async (now: number, extra: Parameters<typeof mustClaim>[2] = {}) => {
    const c = await mustClaim(store, now, { leaseMs: 1000, ...extra });
    leases.push(c.lease);
    trace.push(['claim', c.task.spec.id, c.attempt, c.expiresAt]);
    return c;
  };
  const note = (label: string, value: unknown) => trace.push([label, JSON.parse(JSON.stringify(value ?? null).replaceAll(/"[A-Za-z0-9_-]{24}"/g, '"<lease>"'))]);

  note('submit', await store.submit([
    spec('a', { priority: 2, maxAttempts: 3, backoff: { initialMs: 100, maxMs: 1000, factor: 2 } }),
    spec('b', { deps: ['a'] }), spec('c', { needs: ['gpu'] }), spec('d', { deps: ['b', 'c'] }),
    spec('e'), spec('f', { deps: ['e'] }), spec('g'), spec('h', { deps: ['g'] }),
  ], T0));
  const a1 = await claim(T0, { nodeId: 'n1' });
  note('running', await store.markRunning('a', a1.lease, T0 + 1));
  note('fail a', await store.fail('a', a1.lease, failure(T0 + 2)));
  const c1 = await claim(T0 + 3, { capabilities: ['gpu'], nodeId: 'n2' });
  note('complete c', await store.complete('c', c1.lease, completion(T0 + 4, { c: true })));
  const e1 = await claim(T0 + 5, { nodeId: 'n2' });
  const g1 = await claim(T0 + 5, { nodeId: 'n1', workerId: 'w9' });
  note('heartbeat', await store.extendLeases([e1.lease, 'x'], 3000, T0 + 500));
  note('release e', await store.release('e', e1.lease, T0 + 600, 'drain deadline reached'));
  note('peek', (await store.peekReady(T0 + 600, 2)).map((r) => r.spec.id));
  note('due', await store.nextDueMs(T0 + 600));
  note('reap', await store.reapExpired(T0 + 1005));
  const a2 = await claim(T0 + 1100, { taskId: 'a', nodeId: 'n2' });
  note('complete a', await store.complete('a', a2.lease, completion(T0 + 1101)));
  const b1 = await claim(T0 + 1102, { taskId: 'b', nodeId: 'n1' });
  await claim(T0 + 1103, { taskId: 'e', nodeId: 'n1' });
  note('release node', await store.releaseNode('n1', T0 + 1104));
  note('stale complete', await store.complete('b', b1.lease, completion(T0 + 1105)));
  note('redrive g', await store.redrive('g', T0 + 1106));
  note('cancel f', await store.cancel('f', T0 + 1107));
  const b2 = await claim(T0 + 1108, { taskId: 'b' });
  note('complete b', await store.complete('b', b2.lease, completion(T0 + 1109)));
  note('block d', await store.block('d', { code: 'DEP_CONFLICT', message: 'merge conflict' }, T0 + 1110));
  await store.appendEvent({ at: T0 + 1111, type: 'note', taskId: 'd', nodeId: null, data: { why: 'test' } });
  note('counts', await store.counts());
  note('settled', await store.isSettled());
  note('in flight', (await store.inFlight()).map((f) => f.taskId));
  return trace;
}

/** Registers the cross-backend equivalence test. */
export function referenceContract(make: MakeStore): void {
  describe('identical semantics', () => {
    it('answers a scripted run exactly as the in-memory reference does', async () => {
      const reference = new MemoryStore({ random: seeded(3), maxAttempts: 2 });
      await reference.open();
      const expectedTrace = await script(reference);
      const expectedRecords = normalize(await reference.list());
      const expectedEvents = await reference.events(0, 1000);
      await withStore(make, async (store) => {
        expect(await script(store)).toEqual(expectedTrace);
        expect(normalize(await store.list())).toEqual(expectedRecords);
        expect(await store.events(0, 1000)).toEqual(expectedEvents);
      }, { random: seeded(3), maxAttempts: 2 });
    });
  });
}
