/**
 * The merge queue's bisection planner, pure: which groups get tested, in what order, and how
 * many runs it takes to find the bad entries of a batch while merging every good one.
 */
import { describe, expect, it } from 'vitest';
import { afterTest, bisect, halves, nextGroup, startBisection, undecided, withoutEntries } from '../../src/merge/bisect.js';

/** An oracle where a group fails exactly when it holds one of `bad`. */
const failsWith = (...bad: string[]) => (group: readonly string[]): boolean => !group.some((entry) => bad.includes(entry));

describe('bisect', () => {
  it('merges an all-good batch in one run', () => {
    expect(bisect(['a', 'b', 'c', 'd'], failsWith())).toEqual({ merged: [['a', 'b', 'c', 'd']], failed: [], runs: 1 });
  });

  it.each([
    ['a', [['b'], ['c', 'd']]],
    ['b', [['a'], ['c', 'd']]],
    ['c', [['a', 'b'], ['d']]],
    ['d', [['a', 'b'], ['c']]],
  ])('finds one bad entry (%s) of 4 in 5 runs and merges the other 3', (bad, merged) => {
    const result = bisect(['a', 'b', 'c', 'd'], failsWith(bad));
    expect(result.failed).toEqual([bad]);
    expect(result.merged).toEqual(merged);
    expect(result.merged.flat().sort()).toEqual(['a', 'b', 'c', 'd'].filter((entry) => entry !== bad));
    expect(result.runs).toBe(5);
  });

  it('finds two bad entries of 4, in order, and merges the two good ones', () => {
    expect(bisect(['a', 'b', 'c', 'd'], failsWith('a', 'c'))).toEqual({ merged: [['b'], ['d']], failed: ['a', 'c'], runs: 7 });
    expect(bisect(['a', 'b', 'c', 'd'], failsWith('a', 'b'))).toEqual({ merged: [['c', 'd']], failed: ['a', 'b'], runs: 5 });
  });

  it('fails every entry of an all-bad batch (2k - 1 runs) and merges nothing', () => {
    expect(bisect(['a', 'b', 'c', 'd'], failsWith('a', 'b', 'c', 'd'))).toEqual({ merged: [], failed: ['a', 'b', 'c', 'd'], runs: 7 });
  });

  it('fails a batch of one in one run; an empty batch takes none', () => {
    expect(bisect(['a'], failsWith('a'))).toEqual({ merged: [], failed: ['a'], runs: 1 });
    expect(bisect([], failsWith())).toEqual({ merged: [], failed: [], runs: 0 });
  });

  it('tests the halves in order, each on top of what merged before it', () => {
    const seen: string[] = [];
    bisect(['a', 'b', 'c', 'd', 'e'], (group, merged) => {
      seen.push(`${merged.join('')}+${group.join('')}`);
      return !group.includes('d');
    });
    expect(seen).toEqual(['+abcde', '+abc', 'abc+de', 'abc+d', 'abc+e']);
  });

  it('finds one bad entry of 8 in 7 runs', () => {
    const batch = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
    const result = bisect(batch, failsWith('f'));
    expect(result.failed).toEqual(['f']);
    expect(result.merged.flat()).toEqual(['a', 'b', 'c', 'd', 'e', 'g', 'h']);
    expect(result.runs).toBe(7);
  });
});

describe('the planner steps', () => {
  it('splits a failing group into halves, the first one the larger', () => {
    expect(halves(['a', 'b', 'c'])).toEqual([['a', 'b'], ['c']]);
    const step = afterTest(startBisection(['a', 'b', 'c']), false);
    expect(step.decision).toEqual({ kind: 'split', halves: [['a', 'b'], ['c']] });
    expect(nextGroup(step.plan)).toEqual(['a', 'b']);
    expect(undecided(step.plan)).toEqual(['a', 'b', 'c']);
  });

  it('drops entries decided outside a test (conflicts), and groups left empty', () => {
    const plan = afterTest(startBisection(['a', 'b', 'c']), false).plan;
    const left = withoutEntries(plan, (entry) => entry === 'c' || entry === 'a');
    expect(left.groups).toEqual([['b']]);
    expect(afterTest(left, true)).toEqual({ plan: { groups: [] }, decision: { kind: 'merge', entries: ['b'] } });
  });

  it('refuses a step when nothing is left to test', () => {
    expect(() => afterTest(startBisection([]), true)).toThrow(/nothing left/);
  });
});
