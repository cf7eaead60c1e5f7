/**
 * The bookkeeping of conflict watching, without git: which version pairs a check merges,
 * what the cache keeps, and how one check's conflicts are told apart from the last's.
 */
import { describe, expect, it } from 'vitest';
import {
  conflictKey,
  conflictsOf,
  diffConflicts,
  planCheck,
  settleCache,
  versionPairKey,
  type Conflict,
  type PairCache,
  type UndatedConflict,
  type VersionedBranch,
} from '../../src/coordination/conflict-pairs.js';

const branches = (versions: Record<string, string>): VersionedBranch[] => Object.entries(versions).map(([taskId, version]) => ({ taskId, version }));
const keys = (pairs: ReadonlyArray<readonly [string, string]>): string[] => pairs.map(([a, b]) => versionPairKey(a, b)).sort();

/** A cache answering every pair the plan needs: conflicted where `conflicting` says so. */
function answerAll(plan: ReturnType<typeof planCheck>, cache: PairCache, conflicting: Record<string, string[]> = {}): Map<string, readonly string[]> {
  const computed = new Map(plan.toCompute.map(([a, b]) => [versionPairKey(a, b), conflicting[versionPairKey(a, b)] ?? []] as const));
  return settleCache(plan, cache, computed);
}

describe('versionPairKey and conflictKey', () => {
  it('a version pair has one key whichever way round', () => {
    expect(versionPairKey('v1', 'v2')).toBe(versionPairKey('v2', 'v1'));
    expect(versionPairKey('v1', 'v2')).not.toBe(versionPairKey('v1', 'v3'));
  });

  it('tells a pair of tasks from a task against the target', () => {
    expect(conflictKey({ tasks: ['a', 'b'] })).not.toBe(conflictKey({ tasks: ['a', 'b'], target: 'main' }));
    expect(conflictKey({ tasks: ['a'], target: 'main' })).not.toBe(conflictKey({ tasks: ['a'], target: 'dev' }));
  });
});

describe('planCheck', () => {
  it('plans every pair of branches, and each branch against the target, with sorted task ids', () => {
    const plan = planCheck(branches({ c: 'v3', a: 'v1', b: 'v2' }), { name: 'main', version: 'vm' }, new Map());
    expect(plan.pairs.map((p) => [p.tasks, p.target])).toEqual([
      [['a', 'b'], undefined],
      [['a', 'c'], undefined],
      [['b', 'c'], undefined],
      [['a'], 'main'],
      [['b'], 'main'],
      [['c'], 'main'],
    ]);
    expect(plan.toCompute).toHaveLength(6);
    for (const [x, y] of plan.toCompute) expect(x < y).toBe(true);
  });

  it('32 branches and a target: 496 + 32 pairs', () => {
    const versions = Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`t${i}`, `v${i}`]));
    const plan = planCheck(branches(versions), { name: 'main', version: 'vm' }, new Map());
    expect(plan.pairs).toHaveLength(496 + 32);
    expect(plan.toCompute).toHaveLength(528);
  });

  it('without a target, only branch pairs', () => {
    const plan = planCheck(branches({ a: 'v1', b: 'v2' }), null, new Map());
    expect(plan.pairs).toHaveLength(1);
  });

  it('recomputes only the pairs where a side changed', () => {
    const target = { name: 'main', version: 'vm' };
    const first = planCheck(branches({ a: 'a1', b: 'b1', c: 'c1' }), target, new Map());
    const cache = answerAll(first, new Map());
    expect(planCheck(branches({ a: 'a1', b: 'b1', c: 'c1' }), target, cache).toCompute).toEqual([]);
    const changed = planCheck(branches({ a: 'a2', b: 'b1', c: 'c1' }), target, cache);
    expect(keys(changed.toCompute)).toEqual(keys([['a2', 'b1'], ['a2', 'c1'], ['a2', 'vm']]));
    const moved = planCheck(branches({ a: 'a1', b: 'b1', c: 'c1' }), { name: 'main', version: 'vm2' }, cache);
    expect(keys(moved.toCompute)).toEqual(keys([['a1', 'vm2'], ['b1', 'vm2'], ['c1', 'vm2']]));
  });

  it('merges each distinct version pair once, and never a version with itself', () => {
    // a and b are both at the start commit s: a–b is clean without git, a–c and b–c are one merge.
    const plan = planCheck(branches({ a: 's', b: 's', c: 'c1' }), { name: 'main', version: 's' }, new Map());
    expect(keys(plan.toCompute)).toEqual(keys([['c1', 's']]));
    const cache = answerAll(plan, new Map(), { [versionPairKey('c1', 's')]: ['x.ts'] });
    expect(conflictsOf(plan, cache).map((c) => [c.tasks, c.target])).toEqual([
      [['a', 'c'], undefined],
      [['b', 'c'], undefined],
      [['c'], 'main'],
    ]);
  });

  it('refuses a task listed twice', () => {
    expect(() => planCheck(branches({ a: 'v1' }).concat(branches({ a: 'v2' })), null, new Map())).toThrow(/listed twice/);
  });
});

describe('settleCache', () => {
  it('keeps the answers the check used, and drops the rest (forgotten branches, old versions)', () => {
    const first = planCheck(branches({ a: 'a1', b: 'b1', c: 'c1' }), null, new Map());
    const cache = answerAll(first, new Map());
    expect(cache.size).toBe(3);
    const second = planCheck(branches({ a: 'a2', b: 'b1' }), null, cache);
    const next = answerAll(second, cache);
    expect([...next.keys()]).toEqual([versionPairKey('a2', 'b1')]);
  });

  it('reuses cached answers as they were', () => {
    const first = planCheck(branches({ a: 'a1', b: 'b1' }), null, new Map());
    const cache = answerAll(first, new Map(), { [versionPairKey('a1', 'b1')]: ['f.ts'] });
    const again = planCheck(branches({ a: 'a1', b: 'b1', c: 'c1' }), null, cache);
    const next = answerAll(again, cache);
    expect(next.get(versionPairKey('a1', 'b1'))).toEqual(['f.ts']);
  });

  it('refuses a plan left unanswered', () => {
    const plan = planCheck(branches({ a: 'a1', b: 'b1' }), null, new Map());
    expect(() => settleCache(plan, new Map(), new Map())).toThrow(/no answer/);
  });
});

describe('conflictsOf', () => {
  it('lists the pairs with conflicted files (sorted), in plan order', () => {
    const plan = planCheck(branches({ b: 'b1', a: 'a1', c: 'c1' }), { name: 'main', version: 'm' }, new Map());
    const cache = answerAll(plan, new Map(), { [versionPairKey('a1', 'c1')]: ['z.ts', 'a.ts'], [versionPairKey('b1', 'm')]: ['README.md'] });
    expect(conflictsOf(plan, cache)).toEqual([
      { tasks: ['a', 'c'], files: ['a.ts', 'z.ts'] },
      { tasks: ['b'], target: 'main', files: ['README.md'] },
    ]);
  });
});

describe('diffConflicts', () => {
  const ab: UndatedConflict = { tasks: ['a', 'b'], files: ['x.ts'] };
  const cMain: UndatedConflict = { tasks: ['c'], target: 'main', files: ['y.ts'] };

  it('everything is found on the first check, dated now', () => {
    const diff = diffConflicts([], [ab, cMain], 100);
    expect(diff.found).toEqual([{ ...ab, detectedAt: 100 }, { ...cMain, detectedAt: 100 }]);
    expect(diff.current).toEqual(diff.found);
    expect(diff.resolved).toEqual([]);
  });

  it('nothing is found again when nothing changed, and the first detection is kept', () => {
    const first = diffConflicts([], [ab, cMain], 100);
    const second = diffConflicts(first.current, [{ ...ab, files: [...ab.files] }, cMain], 200);
    expect(second.found).toEqual([]);
    expect(second.resolved).toEqual([]);
    expect(second.current.map((c) => c.detectedAt)).toEqual([100, 100]);
  });

  it('a conflict whose files changed is found again, still dated from its first detection', () => {
    const first = diffConflicts([], [ab], 100);
    const second = diffConflicts(first.current, [{ tasks: ['a', 'b'], files: ['x.ts', 'z.ts'] }], 200);
    expect(second.found).toEqual([{ tasks: ['a', 'b'], files: ['x.ts', 'z.ts'], detectedAt: 100 }]);
    expect(second.resolved).toEqual([]);
  });

  it('a conflict that is gone is resolved; one that comes back later is new', () => {
    const first = diffConflicts([], [ab, cMain], 100);
    const second = diffConflicts(first.current, [cMain], 200);
    expect(second.resolved).toEqual([{ ...ab, detectedAt: 100 }]);
    expect(second.current).toEqual([{ ...cMain, detectedAt: 100 }]);
    const third = diffConflicts(second.current, [ab, cMain], 300);
    expect(third.found).toEqual([{ ...ab, detectedAt: 300 }]);
  });

  it('a pair against the target is not the same conflict as the pair of tasks', () => {
    const first = diffConflicts([], [{ tasks: ['a'], target: 'main', files: ['x.ts'] }], 100);
    const second = diffConflicts(first.current, [{ tasks: ['a'], target: 'dev', files: ['x.ts'] }], 200);
    expect(second.found.map((c) => c.target)).toEqual(['dev']);
    expect(second.resolved.map((c) => c.target)).toEqual(['main']);
  });

  it('does not share arrays with its input', () => {
    const input: UndatedConflict = { tasks: ['a', 'b'], files: ['x.ts'] };
    const [conflict] = diffConflicts([], [input], 1).current as [Conflict];
    input.files.push('y.ts');
    expect(conflict.files).toEqual(['x.ts']);
  });
});
