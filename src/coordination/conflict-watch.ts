/**
 * Conflict prediction between live branches: which running or finished tasks would conflict
 * with one another (and with the target branch) if merged now, uncommitted work included.
 *
 * Each check versions every branch (a running task's worktree is snapshotted into a commit,
 * see {@link snapshotWorktree}; a branch without a worktree is its commit), versions the
 * target (`refs/heads/<target>`), and merges in memory (`git merge-tree`) only the pairs
 * where a side's version changed since the last check; the bookkeeping is in
 * `conflict-pairs.ts`. Nothing touches a worktree's files or index.
 *
 * Checks never overlap: a `check` called while another runs waits for it, then runs on its
 * own (serialised, not coalesced), so every call's `found` and `resolved` are relative to the
 * check just before it and no change is reported twice. A check that fails leaves the
 * watcher's picture as it was.
 */
import { createHash } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CoordError, toCoordError } from '../errors.js';
import { gitOutput, runGit } from '../git/run-git.js';
import { assertDistinctTasks, conflictsOf, diffConflicts, planCheck, settleCache, versionPairKey, type Conflict, type PairCache, type VersionedBranch, type VersionedTarget } from './conflict-pairs.js';
import { mapLimit } from './map-limit.js';
import { mergeConflictFiles } from './merge-pair.js';
import { snapshotWorktree } from './worktree-snapshot.js';

export type { Conflict } from './conflict-pairs.js';
export { snapshotWorktree } from './worktree-snapshot.js';

/** A task's branch as the watcher sees it. */
export interface LiveBranch {
  taskId: string;
  /** The commit the branch is at (its task's start commit while running, its result once complete). */
  commit: string;
  /** While the task runs: its worktree, whose uncommitted work counts too (snapshotted without touching its index or files). */
  worktree: string | null;
}

/** What one check found. */
export interface ConflictCheck {
  /** Every conflict now. */
  current: Conflict[];
  /** Conflicts new since the last check, or whose files changed (their `detectedAt` is still the first detection's). */
  found: Conflict[];
  /** Conflicts of the last check that are gone: the pair merges cleanly now, or a side is no longer listed. */
  resolved: Conflict[];
  /** Merges run by this check (distinct version pairs neither cached nor trivially clean). */
  pairsComputed: number;
  /** Worktrees snapshotted by this check (every listed branch with a worktree). */
  snapshotsTaken: number;
}

/** What a watcher needs. */
export interface ConflictWatcherDeps {
  repoRoot: string;
  /** For temporary index files (one per running task, reused across checks); owned by this watcher. */
  scratchDir: string;
  /** E.g. `'main'`: each branch is also checked against `refs/heads/<target>` (none while that branch is missing). */
  target: string | null;
  now(): number;
  /** Git processes run at once (snapshots, merges); default: the CPUs available. */
  concurrency?: number;
}

const clone = (conflict: Conflict): Conflict => ({ ...conflict, tasks: [...conflict.tasks], files: [...conflict.files] });

/** Keeps the predicted conflicts of a set of live branches up to date, one incremental check at a time. */
export class ConflictWatcher {
  readonly #deps: ConflictWatcherDeps;
  readonly #concurrency: number;
  #cache: PairCache = new Map();
  #current: Conflict[] = [];
  /** Index files of the tasks snapshotted by the last check (removed when a task is no longer listed). */
  #indexFiles = new Map<string, string>();
  #tail: Promise<unknown> = Promise.resolve();

  constructor(deps: ConflictWatcherDeps) {
    this.#deps = deps;
    this.#concurrency = Math.max(1, Math.floor(deps.concurrency ?? os.availableParallelism()));
  }

  /**
   * Brings the picture up to date for exactly these branches (others are forgotten). Only
   * pairs where one side's version changed are recomputed. Waits for a check already running.
   */
  check(branches: readonly LiveBranch[]): Promise<ConflictCheck> {
    const listed = branches.map((branch) => ({ ...branch }));
    const run = this.#tail.then(() => this.#run(listed));
    this.#tail = run.catch(() => undefined);
    return run;
  }

  /** Every conflict of the last completed check. */
  current(): Conflict[] {
    return this.#current.map(clone);
  }

  async #run(branches: readonly LiveBranch[]): Promise<ConflictCheck> {
    const { repoRoot, scratchDir } = this.#deps;
    // Refused before any git runs (planCheck would refuse them too, but after the snapshots).
    assertDistinctTasks(branches.map((branch) => branch.taskId));
    const running = branches.filter((branch) => branch.worktree !== null);
    if (running.length > 0) await mkdir(scratchDir, { recursive: true });
    const indexFiles = new Map(running.map((branch) => [branch.taskId, this.#indexFileFor(branch.taskId)]));

    const [target, committed, snapshots] = await Promise.all([
      this.#targetVersion(),
      this.#resolveCommits(branches.filter((branch) => branch.worktree === null)),
      mapLimit(running, this.#concurrency, (branch) => this.#snapshot(branch, indexFiles.get(branch.taskId) as string)),
    ]);
    const versions = new Map<string, string>([...committed, ...running.map((branch, i) => [branch.taskId, snapshots[i] as string] as const)]);
    const versioned: VersionedBranch[] = branches.map((branch) => ({ taskId: branch.taskId, version: versions.get(branch.taskId) as string }));

    const plan = planCheck(versioned, target, this.#cache);
    const answers = await mapLimit(plan.toCompute, this.#concurrency, ([a, b]) => mergeConflictFiles(repoRoot, a, b));
    const computed = new Map(plan.toCompute.map(([a, b], i) => [versionPairKey(a, b), answers[i] as string[]]));
    const cache = settleCache(plan, this.#cache, computed);
    const diff = diffConflicts(this.#current, conflictsOf(plan, cache), this.#deps.now());

    // Commit the new picture, then tidy the index files of tasks no longer running.
    this.#cache = cache;
    this.#current = diff.current;
    const gone = [...this.#indexFiles].filter(([taskId]) => !indexFiles.has(taskId)).map(([, file]) => file);
    this.#indexFiles = indexFiles;
    await Promise.all(gone.flatMap((file) => [rm(file, { force: true }), rm(`${file}.lock`, { force: true })]));

    return {
      current: diff.current.map(clone),
      found: diff.found.map(clone),
      resolved: diff.resolved.map(clone),
      pairsComputed: plan.toCompute.length,
      snapshotsTaken: running.length,
    };
  }

  /** The target's commit, or null when there is no target or its branch does not exist. */
  async #targetVersion(): Promise<VersionedTarget | null> {
    const { target, repoRoot } = this.#deps;
    if (target === null) return null;
    const result = await runGit(['rev-parse', '--verify', '--quiet', `refs/heads/${target}^{commit}`], { cwd: repoRoot, okExitCodes: [0, 1] });
    const version = result.stdout.trim();
    return result.exitCode === 0 && version !== '' ? { name: target, version } : null;
  }

  /** Full commit ids of branches without a worktree (one git call for all). */
  async #resolveCommits(branches: readonly LiveBranch[]): Promise<Array<readonly [string, string]>> {
    if (branches.length === 0) return [];
    const ids = (await gitOutput(['rev-parse', ...branches.map((branch) => `${branch.commit}^{commit}`)], { cwd: this.#deps.repoRoot })).split('\n');
    return branches.map((branch, i) => {
      const id = ids[i];
      if (id === undefined || !/^[0-9a-f]{40,64}$/.test(id)) {
        throw new CoordError('GIT_FAILED', `conflict check: cannot resolve task ${branch.taskId}'s commit ${branch.commit}`, { details: { taskId: branch.taskId, commit: branch.commit } });
      }
      return [branch.taskId, id] as const;
    });
  }

  async #snapshot(branch: LiveBranch, indexFile: string): Promise<string> {
    try {
      return await snapshotWorktree(branch.worktree as string, branch.commit, indexFile);
    } catch (error) {
      const cause = toCoordError(error, 'GIT_FAILED');
      throw new CoordError(cause.code, `conflict check: cannot snapshot task ${branch.taskId}'s worktree ${branch.worktree}: ${cause.message}`, {
        cause,
        details: { ...cause.details, taskId: branch.taskId, worktree: branch.worktree },
      });
    }
  }

  /** The temporary index of a task's snapshots: in the scratch folder, named by a hash of the task id (any id is a safe name). */
  #indexFileFor(taskId: string): string {
    const name = createHash('sha256').update(taskId).digest('hex').slice(0, 24);
    return path.resolve(this.#deps.scratchDir, `snapshot-${name}.index`);
  }
}
