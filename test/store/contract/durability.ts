/**
 * Durability and sharing: reopening keeps every record (the summary comes out the same), a
 * store written by a newer coord is refused untouched, other instances hear about changes,
 * and the reaper election.
 */
import { describe, expect, it } from 'vitest';
import { openStore } from '../../../src/store/open-store.js';
import { STORE_SCHEMA_VERSION } from '../../../src/store/schema-version.js';
import { T0, codeOf, completion, failure, mustClaim, normalize, spec, withStore, type ContractOptions, type MakeStore } from './helpers.js';
import { summarize } from './summary.js';

/** Registers the durability tests the backend supports. */
export function durabilityContract(make: MakeStore, opts: ContractOptions): void {
  describe('durability and sharing', () => {
    if (opts.durable) {
      it('keeps every record, attempt and event across close and reopen', () =>
        withStore(make, async (store, fixture) => {
          await store.submit([spec('a'), spec('b', { deps: ['a'] }), spec('c', { maxAttempts: 2 })], T0);
          const a = await mustClaim(store, T0, { taskId: 'a', nodeId: 'host-a' });
          await store.markRunning('a', a.lease, T0 + 1);
          await store.complete('a', a.lease, completion(T0 + 2, { out: 'x' }));
          const c = await mustClaim(store, T0, { taskId: 'c', nodeId: 'host-b' });
          await store.fail('c', c.lease, failure(T0 + 3));
          const inFlight = await mustClaim(store, T0 + 4, { taskId: 'b', nodeId: 'host-a' });
          const records = await store.list();
          const events = await store.events(0, 1000);
          await store.close();

          const reopened = await openStore(fixture.url);
          try {
            expect(await reopened.list()).toEqual(records);
            expect(summarize(await reopened.list())).toEqual(summarize(records));
            expect(await reopened.events(0, 1000)).toEqual(events);
            // The lease survives the restart: the attempt can still report.
            expect(await reopened.complete('b', inFlight.lease, completion(T0 + 5))).toBe(true);
          } finally {
            await reopened.close();
          }
        }));
    }

    const { setSchemaVersion, fingerprint } = opts;
    if (setSchemaVersion !== undefined && fingerprint !== undefined) {
      it('refuses a store written by a newer coord, writing nothing', () =>
        withStore(make, async (store, fixture) => {
          await store.submit([spec('a')], T0);
          await store.close();
          await setSchemaVersion(fixture.url, STORE_SCHEMA_VERSION + 1);
          const before = await fingerprint(fixture.url);
          let message = '';
          const code = await codeOf(async () => {
            try {
              await openStore(fixture.url);
            } catch (error) {
              message = error instanceof Error ? error.message : '';
              throw error;
            }
          });
          expect(code).toBe('STORE_TOO_NEW');
          expect(message).toContain(`schema version ${STORE_SCHEMA_VERSION + 1}`);
          expect(message).toContain('newer coord');
          expect(await fingerprint(fixture.url)).toBe(before);
          await setSchemaVersion(fixture.url, STORE_SCHEMA_VERSION);
          const again = await openStore(fixture.url);
          expect((await again.list()).map((r) => r.spec.id)).toEqual(['a']);
          await again.close();
        }));

      it('opens read-only: reads everything, refuses every change with USAGE, writes nothing, and migrates nothing', () =>
        withStore(make, async (store, fixture) => {
          await store.submit([spec('a'), spec('b', { deps: ['a'] })], T0);
          const claim = await mustClaim(store, T0 + 1, { taskId: 'a' });
          await store.markRunning('a', claim.lease, T0 + 2);
          await store.close();
          const before = await fingerprint(fixture.url);
          const reader = await openStore(fixture.url, { readOnly: true });
          try {
            expect((await reader.get('a'))?.status).toBe('running');
            expect(await reader.counts()).toMatchObject({ running: 1, pending: 1 });
            expect((await reader.latestEvents(1)).map((e) => e.type)).toEqual(['task.started']);
            expect(await codeOf(() => reader.submit([spec('c')], T0 + 3))).toBe('USAGE');
            expect(await codeOf(() => reader.complete('a', claim.lease, completion(T0 + 4)))).toBe('USAGE');
            expect(await codeOf(() => reader.appendEvent({ at: T0 + 5, type: 'note', taskId: null, nodeId: null, data: {} }))).toBe('USAGE');
          } finally {
            await reader.close();
          }
          expect(await fingerprint(fixture.url)).toBe(before);
          // An older store is left for the next supervisor to migrate.
          await setSchemaVersion(fixture.url, STORE_SCHEMA_VERSION - 1);
          const older = await fingerprint(fixture.url);
          expect(await codeOf(() => openStore(fixture.url, { readOnly: true }))).toBe('STORE_UNAVAILABLE');
          expect(await fingerprint(fixture.url)).toBe(older);
          await setSchemaVersion(fixture.url, STORE_SCHEMA_VERSION);
        }));
    }

    if (opts.shared) {
      it('tells another instance that the queue changed', () =>
        withStore(make, async (store, fixture) => {
          const other = await openStore(fixture.url, { changePollMs: 20 });
          try {
            let heard = 0;
            const off = other.onChange(() => {
              heard += 1;
            });
            // A second listener that stays subscribed: once it hears a change, the first
            // would have heard it too, had it not unsubscribed.
            let witnessed = 0;
            const offWitness = other.onChange(() => {
              witnessed += 1;
            });
            await opts.listening?.(other);
            await store.submit([spec('a')], T0);
            await expect.poll(() => heard, { timeout: 5000, interval: 20 }).toBeGreaterThan(0);
            off();
            const seen = heard;
            const witnessedBefore = witnessed;
            await store.submit([spec('b')], T0);
            await expect.poll(() => witnessed, { timeout: 5000, interval: 20 }).toBeGreaterThan(witnessedBefore);
            expect(heard).toBe(seen);
            offWitness();
          } finally {
            await other.close();
          }
        }));
    }

    it('elects a reaper leader', () =>
      withStore(make, async (store, fixture) => {
        expect(await store.tryLeadReaper('n1')).toBe(true);
        expect(await store.tryLeadReaper('n1')).toBe(true);
        if (!opts.shared) return;
        const other = await openStore(fixture.url);
        try {
          expect(await other.tryLeadReaper('n2')).toBe(!opts.exclusiveReaper);
          if (opts.exclusiveReaper) {
            await store.close(); // the leader goes away: its lock with it
            await expect.poll(() => other.tryLeadReaper('n2'), { timeout: 5000, interval: 50 }).toBe(true);
          }
        } finally {
          await other.close();
        }
      }));
  });
}
