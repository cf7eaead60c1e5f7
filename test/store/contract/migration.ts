/**
 * Migrations: a store as an older schema version left it (made by writing with this coord,
 * then undoing the later migrations, checked against the older version's own DDL) opens,
 * migrates to the current version, keeps every record, and then follows the current rules.
 * From version 1 (before released starts were kept): tasks in every state, one released once
 * under version 1, one in flight at a crash. From version 2 (before agent sessions, usage
 * and rate-limit waits were kept): every run reads with no session and no usage, every task
 * with no wait, and deferral works from then on.
 */
import { describe, expect, it } from 'vitest';
import { openStore } from '../../../src/store/open-store.js';
import { STORE_SCHEMA_VERSION } from '../../../src/store/schema-version.js';
import {
  T0, codeOf, completion, deferral, failure, mustClaim, session, spec, usage, withStore, type ContractOptions, type MakeStore,
} from './helpers.js';

/** Registers the migration tests the backend supports. */
export function migrationContract(make: MakeStore, opts: ContractOptions): void {
  const { downgradeTo, schemaVersion } = opts;
  if (downgradeTo === undefined || schemaVersion === undefined) return;
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
        await downgradeTo(fixture.url, 1);
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

    it('opens a version-2 store, migrates it: runs without session or usage, tasks without waits; defers from then on', () =>
      withStore(make, async (store, fixture) => {
        await store.submit([spec('a'), spec('b', { deps: ['a'] }), spec('c', { maxAttempts: 2 }), spec('d')], T0);
        const a = await mustClaim(store, T0, { taskId: 'a' });
        await store.complete('a', a.lease, completion(T0 + 1));
        const c = await mustClaim(store, T0 + 2, { taskId: 'c' });
        await store.fail('c', c.lease, failure(T0 + 3));
        const d1 = await mustClaim(store, T0 + 4, { taskId: 'd' });
        await store.release('d', d1.lease, T0 + 5, 'drain deadline reached');
        const held = await mustClaim(store, T0 + 6, { taskId: 'd' });
        await store.markRunning('d', held.lease, T0 + 7);
        await store.close();
        await downgradeTo(fixture.url, 2);
        expect(await schemaVersion(fixture.url)).toBe(2);
        // A read-only command cannot migrate: it leaves the older store to the next supervisor.
        expect(await codeOf(() => openStore(fixture.url, { readOnly: true }))).toBe('STORE_UNAVAILABLE');

        const migrated = await openStore(fixture.url, { maxRateLimitWaits: 1 });
        try {
          expect(await schemaVersion(fixture.url)).toBe(STORE_SCHEMA_VERSION);
          const records = await migrated.list();
          expect(records.map((r) => [r.spec.id, r.status, r.rateLimitWaits])).toEqual([
            ['a', 'complete', 0], ['b', 'ready', 0], ['c', 'failed', 0], ['d', 'running', 0],
          ]);
          const runs = records.flatMap((r) => [...r.attempts, ...r.released]);
          expect(runs).toHaveLength(4); // a, c and d's attempts, d's released start
          for (const run of runs) expect(run).toMatchObject({ session: null, usage: null });
          // Deferring the start that was in flight when the store was upgraded.
          expect(await migrated.defer('d', held.lease, deferral(T0 + 8, T0 + 1000))).toEqual({ status: 'ready', retryAt: T0 + 1000, blocked: [] });
          expect(await migrated.get('d')).toMatchObject({ status: 'ready', readyAt: T0 + 1000, rateLimitWaits: 1, attempts: [], releases: 2 });
          expect((await migrated.get('d'))?.released.map((r) => [r.reason, r.session, r.usage])).toEqual([
            ['drain deadline reached', null, null],
            ['rate limited: claude', session(), usage()],
          ]);
          expect((await migrated.peekReady(T0 + 10, 10)).map((r) => r.spec.id)).not.toContain('d');
          expect(await migrated.claim({ nodeId: 'n1', workerId: 'w1', capabilities: [], leaseMs: 1000, now: T0 + 999, taskId: 'd' })).toBeNull();
          const again = await mustClaim(migrated, T0 + 1000, { taskId: 'd' });
          expect(again.attempt).toBe(1);
          expect((await migrated.defer('d', again.lease, deferral(T0 + 1001, T0 + 2000)))?.status).toBe('dead');
        } finally {
          await migrated.close();
        }
        const reader = await openStore(fixture.url, { readOnly: true });
        try {
          expect(await reader.get('d')).toMatchObject({ status: 'dead', rateLimitWaits: 2, error: { code: 'RATE_LIMITED' } });
        } finally {
          await reader.close();
        }
      }));
  });
}
