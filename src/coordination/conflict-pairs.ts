/**
 * The bookkeeping of conflict watching, without git: which pairs a check must merge, what
 * the merges it already made still say, and how this check's conflicts differ from the last.
 *
 * Every live branch has a version (a commit id: its snapshot, or its commit when it has no
 * worktree) and so may the target. A pair's answer (the files a merge of the two versions
 * leaves conflicted, `[]` when it merges cleanly) depends on nothing but the two versions, so
 * answers are cached by the unordered pair of versions: a check merges only the version
 * pairs it has no answer for, i.e. the pairs where a side's version changed. Two sides at
 * the same version merge cleanly without asking git. The cache keeps only the version pairs
 * the latest check used, so branches no longer listed (and versions left behind) drop out.
 */
import { CoordError } from '../errors.js';

/** A predicted conflict: between two live branches, or between one and the target. */
export interface Conflict {
  /** Two task ids, sorted; or one task id when the conflict is against the target. */
  tasks: string[];
  /** The target branch (e.g. `main`) when the conflict is against it. */
  target?: string;
  /** The files the merge leaves conflicted, sorted. */
  files: string[];
  /** When the conflict was first found (kept while it lasts, even as its files change). */
  detectedAt: number;
}

/** A conflict as one check computes it, before it is dated. */
export type UndatedConflict = Omit<Conflict, 'detectedAt'>;

/** A side of the pairs: a live branch at its version. */
export interface VersionedBranch {
  taskId: string;
  version: string;
}

/** The target branch at its version. */
export interface VersionedTarget {
  name: string;
  version: string;
}

/** One pair a check answers: two branches, or a branch and the target. */
export interface PlannedPair {
  /** The pair's identity, stable across versions (see {@link conflictKey}). */
  key: string;
  tasks: string[];
  target?: string;
  /** The two versions merged, sorted (the cache key's order). */
  versions: readonly [string, string];
}

/** The answers already known: version pair key (see {@link versionPairKey}) → conflicted files (`[]` = clean). */
export type PairCache = ReadonlyMap<string, readonly string[]>;

/** What a check has to do. */
export interface CheckPlan {
  /** Every pair of this check, in a stable order (branch pairs by task ids, then target pairs). */
  pairs: PlannedPair[];
  /** The distinct version pairs to merge (each sorted): the ones neither cached nor trivially clean. */
  toCompute: Array<readonly [string, string]>;
}

/** The key of an unordered pair of versions. */
export function versionPairKey(a: string, b: string): string {
  return a < b ? `${a}:${b}` : `${b}:${a}`;
}

/** The identity of a conflict or pair, independent of versions and files. */
export function conflictKey(pair: { tasks: readonly string[]; target?: string }): string {
  return pair.target === undefined ? `pair\0${pair.tasks.join('\0')}` : `target\0${pair.target}\0${pair.tasks.join('\0')}`;
}

const sorted = (a: string, b: string): readonly [string, string] => (a < b ? [a, b] : [b, a]);

/** Throws when a task id is listed twice (a caller's mistake: one task has one branch). */
export function assertDistinctTasks(taskIds: readonly string[]): void {
  const seen = new Set<string>();
  for (const taskId of taskIds) {
    if (seen.has(taskId)) throw new CoordError('INTERNAL', `conflict check: task ${taskId} is listed twice`, { details: { taskId } });
    seen.add(taskId);
  }
}

/**
 * Every pair among `branches` (and each branch against `target`, when there is one), and
 * which version pairs are not answered by `cache`. Throws on a task id listed twice.
 */
export function planCheck(branches: readonly VersionedBranch[], target: VersionedTarget | null, cache: PairCache): CheckPlan {
  assertDistinctTasks(branches.map((branch) => branch.taskId));
  const byId = [...branches].sort((x, y) => (x.taskId < y.taskId ? -1 : x.taskId > y.taskId ? 1 : 0));
  const pairs: PlannedPair[] = [];
  for (let i = 0; i < byId.length; i += 1) {
    for (let j = i + 1; j < byId.length; j += 1) {
      const a = byId[i] as VersionedBranch;
      const b = byId[j] as VersionedBranch;
      const tasks = [a.taskId, b.taskId];
      pairs.push({ key: conflictKey({ tasks }), tasks, versions: sorted(a.version, b.version) });
    }
  }
  if (target !== null) {
    for (const branch of byId) {
      const tasks = [branch.taskId];
      pairs.push({ key: conflictKey({ tasks, target: target.name }), tasks, target: target.name, versions: sorted(branch.version, target.version) });
    }
  }
  const toCompute = new Map<string, readonly [string, string]>();
  for (const pair of pairs) {
    const [a, b] = pair.versions;
    if (a === b) continue;
    const key = versionPairKey(a, b);
    if (!cache.has(key) && !toCompute.has(key)) toCompute.set(key, pair.versions);
  }
  return { pairs, toCompute: [...toCompute.values()] };
}

/**
 * The cache after a check: the answers `plan` used, from `cache` or from `computed` (keyed by
 * {@link versionPairKey}); everything else is dropped. Throws when a planned merge has no answer.
 */
export function settleCache(plan: CheckPlan, cache: PairCache, computed: PairCache): Map<string, readonly string[]> {
  const next = new Map<string, readonly string[]>();
  for (const pair of plan.pairs) {
    const [a, b] = pair.versions;
    if (a === b) continue;
    const key = versionPairKey(a, b);
    const files = computed.get(key) ?? cache.get(key);
    if (files === undefined) throw new CoordError('INTERNAL', `conflict check: no answer for versions ${a} and ${b}`, { details: { versions: [a, b] } });
    next.set(key, files);
  }
  return next;
}

/** The conflicts of a settled check: every pair whose merge leaves files conflicted, in plan order. */
export function conflictsOf(plan: CheckPlan, cache: PairCache): UndatedConflict[] {
  const conflicts: UndatedConflict[] = [];
  for (const pair of plan.pairs) {
    const [a, b] = pair.versions;
    if (a === b) continue;
    const files = cache.get(versionPairKey(a, b)) ?? [];
    if (files.length === 0) continue;
    const conflict: UndatedConflict = { tasks: [...pair.tasks], files: [...files].sort() };
    if (pair.target !== undefined) conflict.target = pair.target;
    conflicts.push(conflict);
  }
  return conflicts;
}

/** This check's conflicts against the last's. */
export interface ConflictDiff {
  /** Every conflict now. */
  current: Conflict[];
  /** Conflicts new since the last check, or whose files changed. */
  found: Conflict[];
  /** Conflicts of the last check that are gone (merged cleanly now, or a side no longer listed). */
  resolved: Conflict[];
}

const sameFiles = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((file, i) => file === b[i]);

/**
 * Dates `next` and compares it with `previous`: a conflict that was there keeps its
 * `detectedAt` (and its object, when its files are the same); a new one is dated `now`.
 */
export function diffConflicts(previous: readonly Conflict[], next: readonly UndatedConflict[], now: number): ConflictDiff {
  const before = new Map(previous.map((conflict) => [conflictKey(conflict), conflict]));
  const current: Conflict[] = [];
  const found: Conflict[] = [];
  const seen = new Set<string>();
  for (const candidate of next) {
    const key = conflictKey(candidate);
    seen.add(key);
    const old = before.get(key);
    if (old !== undefined && sameFiles(old.files, candidate.files)) {
      current.push(old);
      continue;
    }
    const conflict: Conflict = { ...candidate, tasks: [...candidate.tasks], files: [...candidate.files], detectedAt: old?.detectedAt ?? now };
    current.push(conflict);
    found.push(conflict);
  }
  const resolved = previous.filter((conflict) => !seen.has(conflictKey(conflict)));
  return { current, found, resolved };
}
