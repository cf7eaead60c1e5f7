/**
 * Outcomes: completion unlocks dependents through counters; failure retries after a jittered
 * backoff while attempts remain, else dead-letters the task and blocks its dependents; every
 * report is fenced by the lease.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_BACKOFF, retryDelayMs } from '../../../src/lifecycle/retry-delay.js';
import { T0, completion, failure, mustClaim, normalize, seeded, spec, statusOf, withStore, type MakeStore } from './helpers.js';

/** Registers the outcome tests. */
export function outcomesContract(make: MakeStore): void {
  describe('outcomes', () => {
    it('completes: result and commit stored, dependents ready once all their dependencies are complete', () =>
      withStore(make, async (store) => {
        await store.submit([spec('a'), spec('b'), spec('c', { deps: ['a', 'b'] })], T0);
        const a = await mustClaim(store, T0);
        expect(await store.complete('a', a.lease, completion(T0 + 5, { ok: [1, 2] }))).toBe(true);
        expect(await store.get('c')).toMatchObject({ status: 'pending', unmetDeps: 1 });
        const b = await mustClaim(store, T0);
        await store.complete('b', b.lease, completion(T0 + 6));
        expect(await store.get('c')).toMatchObject({ status: 'ready', unmetDeps: 0 });
        expect(await store.get('a')).toMatchObject({
          status: 'complete', result: { ok: [1, 2] }, commit: 'c0ffee', exitCode: 0, lease: null, leaseExpiresAt: null,
          finishedAt: new Date(T0 + 5).toISOString(), error: null,
        });
        expect((await store.get('a'))?.attempts[0]).toMatchObject({ finishedAt: new Date(T0 + 5).toISOString(), exitCode: 0, code: null });
      }));

    it('retries after a full-jitter backoff drawn from the injected random, honouring retryAfterMs', () => {
      const random = seeded(11);
      const expected = seeded(11);
      return withStore(make, async (store) => {
        await store.submit([spec('a', { maxAttempts: 4 })], T0);
        const first = await mustClaim(store, T0);
        const delay1 = retryDelayMs(1, DEFAULT_BACKOFF, expected);
        expect(await store.fail('a', first.lease, failure(T0))).toEqual({ status: 'failed', retryAt: T0 + delay1, blocked: [] });
        expect(await store.get('a')).toMatchObject({ status: 'failed', readyAt: T0 + delay1, worker: null, node: null, lease: null, error: { code: 'TASK_EXIT_NONZERO', message: 'exit 1' } });
        expect(await store.nextDueMs(T0)).toBe(delay1);
        expect(await store.claim({ nodeId: 'n1', workerId: 'w1', capabilities: [], leaseMs: 1000, now: T0 + delay1 - 1 })).toBeNull();
        const second = await mustClaim(store, T0 + delay1);
        expect(second.attempt).toBe(2);
        const now2 = T0 + delay1 + 1;
        const delay2 = retryDelayMs(2, DEFAULT_BACKOFF, expected, 90_000);
        expect(delay2).toBe(90_000);
        expect(await store.fail('a', second.lease, { ...failure(now2), retryAfterMs: 90_000 })).toEqual({ status: 'failed', retryAt: now2 + 90_000, blocked: [] });
        expect((await store.peekReady(now2 + 90_000, 5)).map((r) => r.spec.id)).toEqual(['a']);
        expect(await statusOf(store, 'a')).toBe('ready');
      }, { random });
    });

    it('retries at once when the drawn delay is 0', () =>
      withStore(make, async (store) => {
        await store.submit([spec('a', { maxAttempts: 2 })], T0);
        const claim = await mustClaim(store, T0);
        expect(await store.fail('a', claim.lease, failure(T0 + 3))).toEqual({ status: 'ready', retryAt: T0 + 3, blocked: [] });
        expect((await mustClaim(store, T0 + 3)).attempt).toBe(2);
      }, { random: () => 0 }));

    it('dead-letters when attempts run out, blocking every transitive dependent breadth first', () =>
      withStore(make, async (store) => {
        await store.submit([
          spec('a', { maxAttempts: 2 }), spec('b', { deps: ['a'] }), spec('c', { deps: ['b'] }),
          spec('d', { deps: ['a'] }), spec('e', { deps: ['c', 'd'] }), spec('free'),
        ], T0);
        const one = await mustClaim(store, T0, { taskId: 'a' });
        await store.fail('a', one.lease, failure(T0));
        const two = await mustClaim(store, T0 + 1, { taskId: 'a' });
        const outcome = await store.fail('a', two.lease, failure(T0 + 2));
        expect(outcome).toEqual({ status: 'dead', retryAt: null, blocked: ['b', 'd', 'c', 'e'] });
        expect(await store.get('a')).toMatchObject({
          status: 'dead', finishedAt: new Date(T0 + 2).toISOString(), exitCode: 1,
          error: { code: 'TASK_EXIT_NONZERO', message: 'exit 1' },
        });
        expect((await store.get('a'))?.attempts.map((x) => x.code)).toEqual(['TASK_EXIT_NONZERO', 'TASK_EXIT_NONZERO']);
        for (const id of ['b', 'c', 'd', 'e']) {
          expect(await store.get(id)).toMatchObject({ status: 'blocked', error: { code: 'DEP_DEAD', message: 'dependency "a" is dead' } });
        }
        expect(await store.counts()).toMatchObject({ dead: 1, blocked: 4, ready: 1 });
        const tail = (await store.events(0, 100)).slice(-5).map((e) => `${e.type}:${e.taskId}`);
        expect(tail).toEqual(['task.failed:a', 'task.blocked:b', 'task.blocked:d', 'task.blocked:c', 'task.blocked:e']);
      }, { random: () => 0 }));

    it('dead-letters a non-retryable failure at once, whatever the budget', () =>
      withStore(make, async (store) => {
        await store.submit([spec('a', { maxAttempts: 5 })], T0);
        const claim = await mustClaim(store, T0);
        expect((await store.fail('a', claim.lease, { ...failure(T0, { retryable: false }), details: { hint: 'fix it' } }))?.status).toBe('dead');
        expect((await store.get('a'))?.error).toEqual({ code: 'TASK_EXIT_NONZERO', message: 'exit 1', details: { hint: 'fix it' } });
      }));

    it('fences every report by the lease: a stale one changes nothing', () =>
      withStore(make, async (store) => {
        await store.submit([spec('a', { maxAttempts: 3 }), spec('b')], T0);
        const old = await mustClaim(store, T0, { taskId: 'a' });
        await store.fail('a', old.lease, failure(T0));
        const current = await mustClaim(store, T0 + 1, { taskId: 'a' });
        const before = normalize(await store.list());
        const eventsBefore = (await store.events(0, 100)).length;
        expect(await store.markRunning('a', old.lease, T0 + 2)).toBe(false);
        expect(await store.complete('a', old.lease, completion(T0 + 2))).toBe(false);
        expect(await store.fail('a', old.lease, failure(T0 + 2))).toBeNull();
        expect(await store.release('a', old.lease, T0 + 2, 'stop requested')).toBe(false);
        expect(await store.extendLeases([old.lease, 'garbage'], 5000, T0 + 2)).toBe(0);
        expect(await store.complete('nope', current.lease, completion(T0 + 2))).toBe(false);
        expect(await store.complete('b', current.lease, completion(T0 + 2))).toBe(false);
        expect(normalize(await store.list())).toEqual(before);
        expect((await store.events(0, 100)).length).toBe(eventsBefore);
        expect(await store.complete('a', current.lease, completion(T0 + 3))).toBe(true);
        expect(await store.complete('a', current.lease, completion(T0 + 4))).toBe(false);
      }, { random: () => 0 }));
  });
}
