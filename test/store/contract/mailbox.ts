/**
 * The mailbox's tables: messages numbered per task, read cursors per session that never move
 * back, one open trigger per task however often reconciliation runs, claims under a lease that
 * one claimer gets, changes fenced by lease or status, every try recorded; and the lifecycle
 * around it: a complete task reopened keeps its commit and gets a fresh budget, a loop hold
 * leaves it blocked with its work kept, an override puts it back to complete.
 */
import { describe, expect, it } from 'vitest';
import { openStore } from '../../../src/store/open-store.js';
import { T0, completion, mustClaim, spec, withStore, type ContractOptions, type MakeStore } from './helpers.js';

export function mailboxContract(make: MakeStore, opts: ContractOptions): void {
  describe('mailbox', () => {
    it('numbers messages per task and keeps them in order', async () => {
      await withStore(make, async (store) => {
        const a1 = await store.mailbox.post('a', { source: 'operator', text: 'one' }, T0);
        const a2 = await store.mailbox.post('a', { source: 'merge-queue', text: 'two', meta: { logFile: '/x' } }, T0 + 1);
        const b1 = await store.mailbox.post('b', { source: 'operator', text: 'other' }, T0 + 2);
        expect([a1.seq, a2.seq, b1.seq]).toEqual([1, 2, 1]);
        expect((await store.mailbox.messages('a')).map((m) => [m.seq, m.source, m.text, m.meta])).toEqual([[1, 'operator', 'one', null], [2, 'merge-queue', 'two', { logFile: '/x' }]]);
        expect((await store.mailbox.messages('a', 1)).map((m) => m.seq)).toEqual([2]);
        expect(await store.mailbox.thread('a')).toMatchObject({ latestSeq: 2, readSeq: 0, sessionId: null });
      });
    });

    it('opens one trigger per unread thread however often reconciliation runs, and one claimer gets it', async () => {
      await withStore(make, async (store) => {
        await store.mailbox.post('a', { source: 'operator', text: 'hi' }, T0);
        const reconcile = async () => {
          const opened = [];
          for (const thread of await store.mailbox.unread(100)) opened.push(await store.mailbox.openTrigger(thread.taskId, thread.latestSeq, { chain: 1 }, T0));
          return opened.filter((job) => job !== null).length;
        };
        expect(await reconcile()).toBe(1);
        expect(await reconcile()).toBe(0);
        expect(await store.mailbox.openTrigger('a', 1, {}, T0)).toBeNull();
        const first = await store.mailbox.claimTrigger('n1', 'L1', 30_000, T0);
        const second = await store.mailbox.claimTrigger('n2', 'L2', 30_000, T0);
        expect(first).toMatchObject({ taskId: 'a', status: 'claimed', lease: 'L1', node: 'n1', tries: 1 });
        expect(second).toBeNull();
        // A stale claimer changes nothing; the holder's change and its try are kept.
        expect(await store.mailbox.updateTrigger(first?.id ?? 0, { lease: 'L2' }, { status: 'delivered' }, null, T0)).toBeNull();
        const done = await store.mailbox.updateTrigger(first?.id ?? 0, { lease: 'L1' }, { status: 'delivered', releaseLease: true },
          { at: T0, node: 'n1', stage: 'live', outcome: 'typed', code: 'OK', detail: 'typed' }, T0);
        expect(done).toMatchObject({ status: 'delivered', lease: null });
        expect((await store.mailbox.triggers('a'))[0]?.attempts).toEqual([{ n: 1, at: T0, node: 'n1', stage: 'live', outcome: 'typed', code: 'OK', detail: 'typed' }]);
        // Delivered: the next unread message opens a new one.
        await store.mailbox.markRead('a', 's1', 1, T0);
        expect(await store.mailbox.unread(10)).toEqual([]);
        await store.mailbox.post('a', { source: 'operator', text: 'more' }, T0 + 5);
        expect(await store.mailbox.unread(10)).toEqual([{ taskId: 'a', latestSeq: 2, readSeq: 1 }]);
      });
    });

    it('an expired claim is claimed again; a pending trigger is not claimed before it is due', async () => {
      await withStore(make, async (store) => {
        const job = await store.mailbox.openTrigger('a', 1, {}, T0);
        await store.mailbox.claimTrigger('n1', 'L1', 1_000, T0);
        expect(await store.mailbox.claimTrigger('n2', 'L2', 1_000, T0 + 999)).toBeNull();
        expect(await store.mailbox.claimTrigger('n2', 'L2', 1_000, T0 + 1_000)).toMatchObject({ id: job?.id, lease: 'L2', tries: 2 });
        await store.mailbox.updateTrigger(job?.id ?? 0, { lease: 'L2' }, { status: 'pending', nextAt: T0 + 5_000, releaseLease: true }, null, T0 + 1_000);
        expect(await store.mailbox.nextTriggerDueMs(T0 + 1_000)).toBe(4_000);
        expect(await store.mailbox.claimTrigger('n1', 'L3', 1_000, T0 + 4_999)).toBeNull();
        expect(await store.mailbox.claimTrigger('n1', 'L3', 1_000, T0 + 5_000)).toMatchObject({ lease: 'L3' });
      });
    });

    it('cursors are per session and never move back; a turn in a known session takes its cursor back', async () => {
      await withStore(make, async (store) => {
        for (const text of ['1', '2', '3']) await store.mailbox.post('a', { source: 'operator', text }, T0);
        await store.mailbox.markRead('a', 's1', 2, T0);
        await store.mailbox.markRead('a', 's1', 1, T0);
        expect(await store.mailbox.thread('a')).toMatchObject({ readSeq: 2, sessionId: 's1' });
        await store.mailbox.endTurn('a', { sessionId: 's2', loop: { turns: 1, noProgress: 1, repeated: 0, lastFinding: null, lastCommit: null } }, T0 + 1);
        expect(await store.mailbox.thread('a')).toMatchObject({ readSeq: 0, sessionId: 's2', sessionAt: T0 + 1 });
        await store.mailbox.endTurn('a', { sessionId: 's1', loop: { turns: 2, noProgress: 2, repeated: 0, lastFinding: null, lastCommit: null } }, T0 + 2);
        expect(await store.mailbox.thread('a')).toMatchObject({ readSeq: 2, sessionId: 's1', loop: { turns: 2 } });
        await store.mailbox.override('a', { at: T0 + 3, code: 'LOOP_NO_PROGRESS', reason: 'checked by hand' }, T0 + 3);
        expect(await store.mailbox.thread('a')).toMatchObject({ loop: { turns: 0, noProgress: 0 }, overrides: [{ at: T0 + 3, code: 'LOOP_NO_PROGRESS', reason: 'checked by hand' }] });
      });
    });

    it('reopens a complete task with its commit and a fresh budget; a loop hold blocks it with its work, an override completes it', async () => {
      await withStore(make, async (store) => {
        await store.submit([spec('a'), spec('b', { deps: ['a'] })], T0);
        const lease = (await mustClaim(store, T0, { taskId: 'a' })).lease;
        expect(await store.complete('a', lease, { ...completion(T0 + 1), commit: 'c'.repeat(40) })).toBe(true);
        expect((await store.get('b'))?.status).toBe('ready');
        expect(await store.reopen('a', 'a message', T0 + 2)).toEqual(['a', 'b']);
        expect(await store.get('a')).toMatchObject({ status: 'ready', commit: 'c'.repeat(40), attemptBase: 1 });
        expect(await store.get('b')).toMatchObject({ status: 'pending', unmetDeps: 1 });
        const again = (await mustClaim(store, T0 + 3, { taskId: 'a' })).lease;
        const hold = { code: 'LOOP_REPEATED_FINDING' as const, message: 'same finding 3 turns in a row' };
        expect(await store.complete('a', again, { ...completion(T0 + 4), commit: 'd'.repeat(40), hold })).toBe(true);
        expect(await store.get('a')).toMatchObject({ status: 'blocked', commit: 'd'.repeat(40), error: hold });
        expect((await store.get('b'))?.status).toBe('ready');
        expect(await store.reopen('a', 'blocked tasks are not reopened', T0 + 5)).toEqual([]);
        expect(await store.override('a', 'looked at it', T0 + 6)).toBe(true);
        expect(await store.get('a')).toMatchObject({ status: 'complete', error: null });
        expect(await store.override('a', 'twice', T0 + 7)).toBe(false);
        const types = (await store.events(0, 100)).map((e) => e.type);
        expect(types).toEqual(expect.arrayContaining(['task.reopened', 'task.blocked', 'task.overridden']));
      });
    });

    if (opts.shared) {
      it('two store instances racing for one trigger: exactly one claims it', async () => {
        await withStore(make, async (store, fixture) => {
          await store.mailbox.openTrigger('a', 1, {}, T0);
          const other = await openStore(fixture.url);
          try {
            const claims = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? store : other).mailbox.claimTrigger(`n${i}`, `L${i}`, 30_000, T0)));
            expect(claims.filter((c) => c !== null)).toHaveLength(1);
          } finally {
            await other.close();
          }
        });
      });
    }

    if (opts.durable) {
      it('keeps threads and triggers across a reopen', async () => {
        await withStore(make, async (store, fixture) => {
          await store.mailbox.post('a', { source: 'operator', text: 'kept' }, T0);
          await store.mailbox.openTrigger('a', 1, { c: 1 }, T0);
          await store.close();
          const again = await openStore(fixture.url);
          try {
            expect((await again.mailbox.messages('a')).map((m) => m.text)).toEqual(['kept']);
            expect(await again.mailbox.openTriggerOf('a')).toMatchObject({ uptoSeq: 1, status: 'pending', chain: { c: 1 } });
          } finally {
            await again.close();
          }
        });
      });
    }
  });
}
