/**
 * The coordination ledger: budget spend adds up per scope (two instances on one store add,
 * never overwrite) and survives a reopen; merge states replace each other per task.
 */
import { describe, expect, it } from 'vitest';
import { openStore } from '../../../src/store/open-store.js';
import { T0, withStore, type ContractOptions, type MakeStore } from './helpers.js';

export function ledgerContract(make: MakeStore, opts: ContractOptions): void {
  describe('coordination ledger', () => {
    it('adds spend per scope and answers the totals', async () => {
      await withStore(make, async (store) => {
        expect(await store.ledger.addSpend(['global', 'task:a', 'worker:w1'], 0.25, T0)).toEqual(new Map([['global', 0.25], ['task:a', 0.25], ['worker:w1', 0.25]]));
        const totals = await store.ledger.addSpend(['global', 'task:b'], 0.5, T0 + 1);
        expect(totals.get('global')).toBeCloseTo(0.75, 9);
        expect(await store.ledger.spend()).toEqual([
          { scope: 'global', usd: 0.75 }, { scope: 'task:a', usd: 0.25 }, { scope: 'task:b', usd: 0.5 }, { scope: 'worker:w1', usd: 0.25 },
        ]);
      });
    });

    it('keeps one merge state per task, the latest', async () => {
      await withStore(make, async (store) => {
        await store.ledger.setMerge('a', 'pending', { status: 'pending', commit: null }, T0);
        await store.ledger.setMerge('b', 'conflict', { status: 'conflict', files: ['x.txt'] }, T0 + 1);
        await store.ledger.setMerge('a', 'merged', { status: 'merged', commit: 'c0ffee' }, T0 + 2);
        expect(await store.ledger.merges()).toEqual([
          { taskId: 'b', status: 'conflict', state: { status: 'conflict', files: ['x.txt'] }, updatedAt: T0 + 1 },
          { taskId: 'a', status: 'merged', state: { status: 'merged', commit: 'c0ffee' }, updatedAt: T0 + 2 },
        ]);
      });
    });

    if (opts.shared) {
      it('two instances on one store add their spend together', () =>
        withStore(make, async (store, fixture) => {
          const other = await openStore(fixture.url);
          try {
            await Promise.all([store.ledger.addSpend(['global'], 1, T0), other.ledger.addSpend(['global'], 2, T0)]);
            expect(await store.ledger.spend()).toEqual([{ scope: 'global', usd: 3 }]);
          } finally {
            await other.close();
          }
        }));
    }

    if (opts.durable) {
      it('keeps spend and merge states across close and reopen', () =>
        withStore(make, async (store, fixture) => {
          await store.ledger.addSpend(['global'], 1.5, T0);
          await store.ledger.setMerge('a', 'merged', { status: 'merged' }, T0);
          await store.close();
          const reopened = await openStore(fixture.url);
          try {
            expect(await reopened.ledger.spend()).toEqual([{ scope: 'global', usd: 1.5 }]);
            expect((await reopened.ledger.merges()).map((m) => m.status)).toEqual(['merged']);
          } finally {
            await reopened.close();
          }
          await store.open();
        }));
    }
  });
}
