/**
 * Submission: atomic, idempotent for identical specs, refused for a different spec under a
 * known id, validated as a graph over the new and the stored tasks.
 */
import { describe, expect, it } from 'vitest';
import { T0, codeOf, failure, mustClaim, runOne, spec, statusOf, withStore, type MakeStore } from './helpers.js';

/** Registers the submission tests. */
export function submitContract(make: MakeStore): void {
  describe('submit', () => {
    it('adds a graph: roots ready, the rest pending with unmet counts and dependents', () =>
      withStore(make, async (store) => {
        expect(await store.submit([spec('a'), spec('b', { deps: ['a', 'a'] }), spec('c', { deps: ['a', 'b'] })], T0)).toEqual(['a', 'b', 'c']);
        const [a, b, c] = await store.list();
        expect(a).toMatchObject({ status: 'ready', unmetDeps: 0, dependents: ['b', 'c'], seq: 1, branch: 'coord/a' });
        expect(b).toMatchObject({ status: 'pending', unmetDeps: 1, dependents: ['c'] });
        expect(c).toMatchObject({ status: 'pending', unmetDeps: 2, dependents: [] });
        expect(await store.isSettled()).toBe(false);
      }));

    it('is all or nothing: one bad task and nothing of the batch is stored', () =>
      withStore(make, async (store) => {
        await store.submit([spec('a')], T0);
        expect(await codeOf(() => store.submit([spec('b'), spec('c', { deps: ['nope'] })], T0))).toBe('TASK_UNKNOWN_DEP');
        expect(await codeOf(() => store.submit([spec('b', { deps: ['c'] }), spec('c', { deps: ['b'] })], T0))).toBe('TASK_CYCLE');
        expect(await codeOf(() => store.submit([spec('b'), spec('b')], T0))).toBe('TASK_DUPLICATE_ID');
        expect(await codeOf(() => store.submit([spec('b'), spec('a', { priority: 9 })], T0))).toBe('TASK_EXISTS');
        expect((await store.list()).map((r) => r.spec.id)).toEqual(['a']);
        expect((await store.events(0, 100)).map((e) => e.type)).toEqual(['task.submitted']);
      }));

    it('treats an identical re-submission as a no-op, whatever the key order', () =>
      withStore(make, async (store) => {
        await store.submit([spec('a', { env: { X: '1', Y: '2' } })], T0);
        const again = { ...spec('a'), env: { Y: '2', X: '1' } };
        expect(await store.submit([again, spec('b', { deps: ['a'] })], T0)).toEqual(['b']);
        expect(await store.submit([again], T0)).toEqual([]);
        expect((await store.list()).map((r) => r.spec.id)).toEqual(['a', 'b']);
        expect((await store.events(0, 100)).filter((e) => e.type === 'task.submitted')).toHaveLength(2);
      }));

    it('lets dependencies name stored tasks: complete counts as met, dead blocks at once', () =>
      withStore(make, async (store) => {
        await store.submit([spec('done'), spec('doomed')], T0);
        expect(await runOne(store, T0)).toBe('done');
        const claim = await mustClaim(store, T0);
        await store.fail('doomed', claim.lease, failure(T0, { retryable: false }));
        await store.submit([spec('x', { deps: ['done'] }), spec('y', { deps: ['doomed'] }), spec('z', { deps: ['y'] })], T0 + 5);
        expect(await statusOf(store, 'x')).toBe('ready');
        for (const id of ['y', 'z']) {
          expect(await store.get(id)).toMatchObject({
            status: 'blocked',
            finishedAt: new Date(T0 + 5).toISOString(),
            error: { code: 'DEP_DEAD', message: 'dependency "doomed" is dead', details: { dep: 'doomed', depStatus: 'dead' } },
          });
        }
        expect((await store.get('done'))?.dependents).toEqual(['x']);
        const types = (await store.events(0, 100)).map((e) => `${e.type}:${e.taskId}`);
        expect(types.slice(-5)).toEqual(['task.submitted:x', 'task.submitted:y', 'task.submitted:z', 'task.blocked:y', 'task.blocked:z']);
      }));

    it('keeps the spec exactly as submitted', () =>
      withStore(make, async (store) => {
        const s = spec('m', { run: undefined, module: './h.mjs', export: 'go', input: { n: [1, 'two', null], deep: { ok: true } }, needs: ['gpu', 'net'], maxAttempts: 3, backoff: { initialMs: 5, maxMs: 50, factor: 3 }, timeoutMs: 1000, env: { A: 'b' } });
        await store.submit([s], T0);
        expect((await store.get('m'))?.spec).toEqual(s);
        expect(await store.get('nope')).toBeUndefined();
      }));
  });
}
