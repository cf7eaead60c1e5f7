import { describe, expect, it } from 'vitest';
import { BudgetBook } from '../../src/coordination/budget.js';

describe('BudgetBook', () => {
  it('warns once per scope at warnAt and says when a cap is reached', () => {
    const book = new BudgetBook({ globalUsd: 10, perTaskUsd: 4, warnAt: 0.5 });
    expect(book.add('a', 'w1', 1)).toEqual({ warned: [], exceeded: [] });
    const second = book.add('a', 'w1', 1.5);
    expect(second.warned.map((w) => w.scope)).toEqual(['task:a']);
    expect(book.add('a', 'w1', 0.1).warned).toEqual([]);
    const fourth = book.add('a', 'w1', 1.4);
    expect(fourth.exceeded).toEqual([{ scope: 'task:a', spentUsd: 4, capUsd: 4 }]);
    expect(book.blocks('a', 'w1')).toBe('task:a');
    expect(book.blocks('b', 'w1')).toBeNull();
    // Past a cap, crossing it again says nothing new.
    const fifth = book.add('a', 'w1', 1);
    expect(fifth.exceeded).toEqual([]);
    expect(fifth.warned.map((w) => w.scope)).toEqual(['global']);
    expect(book.add('b', 'w2', 1).warned).toEqual([]);
  });

  it('a global cap blocks every task, a worker cap only that worker', () => {
    const book = new BudgetBook({ globalUsd: 5, perWorkerUsd: 2 });
    book.add('a', 'w1', 2);
    expect(book.blocks('x', 'w1')).toBe('worker:w1');
    expect(book.blocks('x', 'w2')).toBeNull();
    book.add('b', 'w2', 3);
    expect(book.blocks('x', 'w2')).toBe('global');
    expect(book.blocks('x', null)).toBe('global');
  });

  it('raising a cap releases the scopes it stopped', () => {
    const book = new BudgetBook({ globalUsd: 1, perTaskUsd: 1 });
    book.add('a', 'w1', 1);
    expect(book.blocks('a', 'w1')).toBe('global');
    expect(book.configure({ globalUsd: 10, perTaskUsd: 1 })).toEqual(['global']);
    expect(book.blocks('a', 'w1')).toBe('task:a');
    expect(book.blocks('b', 'w1')).toBeNull();
    expect(book.configure({})).toEqual(['task:a']);
    expect(book.active).toBe(false);
  });

  it('spend loaded from the store counts, and what was already past a warning is not warned again', () => {
    const book = new BudgetBook({ globalUsd: 10 });
    book.load([{ scope: 'global', usd: 9 }, { scope: 'task:a', usd: 9 }]);
    expect(book.add('b', 'w1', 0.5).warned).toEqual([]);
    expect(book.add('b', 'w1', 0.5).exceeded.map((e) => e.scope)).toEqual(['global']);
    expect(book.state().find((s) => s.scope === 'global')).toMatchObject({ spentUsd: 10, capUsd: 10, warned: true, exceeded: true });
  });

  it('ignores nothing-spent reports and counts a task without a worker', () => {
    const book = new BudgetBook({ perTaskUsd: 1 });
    expect(book.add('a', 'w1', 0)).toEqual({ warned: [], exceeded: [] });
    expect(book.add('a', null, 1).exceeded.map((e) => e.scope)).toEqual(['task:a']);
  });
});
