/**
 * Migration from schema version 1 (before released starts were kept): a version-1 store with
 * tasks in every state — one released once under version 1, one in flight at a crash — opens,
 * migrates to the current version, keeps every record, and then follows the release rules.
 */
import { describe, expect, it } from 'vitest';
import { openStore } from '../../../src/store/open-store.js';
import { STORE_SCHEMA_VERSION } from '../../../src/store/schema-version.js';
import { T0, completion, mustClaim, spec, withStore, type ContractOptions, type MakeStore } from './helpers.js';

/** Registers the migration test the backend supports. */
export function migrationContract(make: MakeStore, opts: ContractOptions): void {
  const { downgradeToVersion1, schemaVersion } = opts;
  if (downgradeToVersion1 === undefined || schemaVersion === undefined) return;
  describe('migration', () => {
    it('opens a version-1 store, migrates it, keeps its records, and bounds its releases from then on', () =>
      withStore(make, async (store, fixture) => {
        await store.submit([spec('a'), spec('b', { deps: ['a'] }), spec('c')], T0);
        const first = await mustClaim(store, T0, { taskId: 'a', nodeId: 'n1' });
        await store.release('a', first.lease, T0 + 1, 'drain deadline reached');
        const c = await mustClaim(store, T0 + 2, { taskId: 'c', nodeId: 'n1' });
        await store.complete('c', c.lease, completion(T0 + 3));
        const held = await mustClaim(store, T0 + 4, { taskId: 'a', nodeId: 'n1' });
        expect(held.attempt).toBe(1);
        await store.markRunning('a', held.lease, T0 + 5);
        await store.close();
        // As version 1 would have left it: the release kept only as the count.
        await downgradeToVersion1(fixture.url);
        expect(await schemaVersion(fixture.url)).toBe(1);

        const migrated = await openStore(fixture.url, { maxReleases: 2 });
        try {
          expect(await schemaVersion(fixture.url)).toBe(STORE_SCHEMA_VERSION);
          expect(await migrated.get('a')).toMatchObject({
            status: 'running', lease: held.lease, releases: 1, released: [], crashReleases: 0,
            attempts: [expect.objectContaining({ attempt: 1, node: 'n1' })],
          });
          expect(await migrated.get('c')).toMatchObject({ status: 'complete', releases: 0, released: [], crashReleases: 0 });
          expect((await migrated.get('b'))?.status).toBe('pending');
          // The supervisor restarts: the crash-release is kept and counted.
          expect(await migrated.releaseNode('n1', T0 + 10)).toEqual(['a']);
          expect(await migrated.get('a')).toMatchObject({ status: 'ready', attempts: [], releases: 2, crashReleases: 1 });
          expect((await migrated.get('a'))?.released.map((r) => r.reason)).toEqual(['supervisor restarted']);
          const again = await mustClaim(migrated, T0 + 11, { taskId: 'a', nodeId: 'n1' });
          expect(again.attempt).toBe(1);
          expect(await migrated.releaseNode('n1', T0 + 12)).toEqual(['a']);
          expect(await migrated.get('a')).toMatchObject({ status: 'dead', releases: 3, crashReleases: 2, error: { code: 'TASK_KILLS_SUPERVISOR' } });
          expect((await migrated.get('b'))?.status).toBe('blocked');
        } finally {
          await migrated.close();
        }
        // Migrated once: opening again changes nothing.
        const reopened = await openStore(fixture.url);
        try {
          expect((await reopened.get('a'))?.released).toHaveLength(2);
        } finally {
          await reopened.close();
        }
      }));
  });
}
