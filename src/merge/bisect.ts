/**
 * The merge queue's bisection, as a pure planner (no git, no processes): which group of a
 * batch to test next, and what a test result decides. Bors / GitHub merge-queue style: the
 * whole batch is tested first; a passing group is merged (the target advances to it); a
 * failing group of one entry fails that entry; a failing group of k > 1 is split into halves,
 * tested in order, each on the target as the groups before it left it. So one bad entry
 * never holds back the good ones, and a bad entry is never merged.
 *
 * @example
 * let plan = startBisection(batch);
 * for (let group = nextGroup(plan); group; group = nextGroup(plan)) {
 *   const step = afterTest(plan, await passes(group));
 *   plan = step.plan; // step.decision: merge the group, fail its one entry, or split it
 * }
 */

/** A bisection under way: the groups still to test, in order; the first is tested next. */
export interface Bisection<T> {
  readonly groups: readonly (readonly T[])[];
}

/** What one test result decides about the group it tested. */
export type BisectDecision<T> =
  | { kind: 'merge'; entries: readonly T[] }
  | { kind: 'fail'; entry: T }
  | { kind: 'split'; halves: readonly [readonly T[], readonly T[]] };

/** The plan for a fresh batch: test all of it together. */
export function startBisection<T>(batch: readonly T[]): Bisection<T> {
  return { groups: batch.length === 0 ? [] : [[...batch]] };
}

/** The group to test next (on the current target tip), or null when every entry is decided. */
export function nextGroup<T>(plan: Bisection<T>): readonly T[] | null {
  return plan.groups[0] ?? null;
}

/** Every entry not decided yet, in order. */
export function undecided<T>(plan: Bisection<T>): T[] {
  return plan.groups.flat();
}

/** A group split in two, the first half the larger when the size is odd. */
export function halves<T>(group: readonly T[]): readonly [readonly T[], readonly T[]] {
  const middle = Math.ceil(group.length / 2);
  return [group.slice(0, middle), group.slice(middle)];
}

/**
 * What the result of testing {@link nextGroup} decides, and the plan after it. Throws when
 * there is nothing left to test (a caller bug).
 */
export function afterTest<T>(plan: Bisection<T>, passed: boolean): { plan: Bisection<T>; decision: BisectDecision<T> } {
  const [group, ...rest] = plan.groups;
  if (group === undefined) throw new Error('afterTest: the bisection has nothing left to test');
  if (passed) return { plan: { groups: rest }, decision: { kind: 'merge', entries: group } };
  const [only] = group;
  if (group.length === 1 && only !== undefined) return { plan: { groups: rest }, decision: { kind: 'fail', entry: only } };
  const split = halves(group);
  return { plan: { groups: [split[0], split[1], ...rest] }, decision: { kind: 'split', halves: split } };
}

/**
 * The plan without the entries `drop` picks (decided outside a test, e.g. an entry that
 * conflicts when its group is built); groups left empty are gone.
 */
export function withoutEntries<T>(plan: Bisection<T>, drop: (entry: T) => boolean): Bisection<T> {
  return { groups: plan.groups.map((group) => group.filter((entry) => !drop(entry))).filter((group) => group.length > 0) };
}

/** The outcome of a whole bisection, as {@link bisect} reports it. */
export interface BisectResult<T> {
  /** The groups merged, in the order the target advanced. */
  merged: T[][];
  /** The entries that failed on their own, in the order they were found. */
  failed: T[];
  /** How many test runs it took. */
  runs: number;
}

/**
 * Runs a whole bisection of `batch` against a synchronous oracle (`passes(group)`: does the
 * target plus this group pass the test?). The oracle sees each group as it would be tested,
 * after the groups merged before it. For planning, tests and estimates; the queue drives the
 * same steps with real test runs.
 */
export function bisect<T>(batch: readonly T[], passes: (group: readonly T[], merged: readonly T[]) => boolean): BisectResult<T> {
  const result: BisectResult<T> = { merged: [], failed: [], runs: 0 };
  let plan = startBisection(batch);
  for (let group = nextGroup(plan); group !== null; group = nextGroup(plan)) {
    result.runs += 1;
    const step = afterTest(plan, passes(group, result.merged.flat()));
    plan = step.plan;
    if (step.decision.kind === 'merge') result.merged.push([...step.decision.entries]);
    else if (step.decision.kind === 'fail') result.failed.push(step.decision.entry);
  }
  return result;
}
