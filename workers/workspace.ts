/**
 * Git in the worker's worktree, around each task attempt: {@link Workspace.prepare} checks
 * the worktree (rebuilding one a task broke), records the refs the task must not move, makes
 * the worktree clean and puts it on the task's branch; {@link Workspace.finish} commits
 * whatever the task left uncommitted onto the task's branch and nowhere else, so nothing a
 * task wrote is lost (failed attempts included), reports the branch tip and the refs the
 * task moved (put back), and leaves the worktree detached and clean for the next task. All
 * git calls go through `runGit`, so a failure is a `GIT_FAILED` CoordError.
 *
 * Each `git` process costs 10–20 ms on a loaded machine, as much as a short task itself, so
 * an attempt that changes nothing takes one: a `status` after it, when the previous attempt
 * left the worktree clean at the same start commit (the branch is then set by writing its
 * ref file, HEAD moved onto it and detached again by writing its file, the refs to guard
 * read from the ref files; see src/git/). Otherwise a checkout and a clean come before it.
 */
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { CoordError } from '../src/errors.js';
import { writeHead } from '../src/git/head-file.js';
import { writeLooseRef } from '../src/git/ref-write.js';
import { identityEnv } from '../src/git/identity.js';
import { gitOutput, runGit } from '../src/git/run-git.js';
import { worktreeHealth, type WorktreeHealth } from '../src/worktrees/worktree-health.js';
import { rebuildWorktree } from '../src/worktrees/worktree-rebuild.js';
import { guardRefs, reflogMark, snapshotRefs, type MovedRef, type RefMap } from './ref-guard.js';

/** What {@link Workspace.finish} found: the branch tip, and refs outside it the task moved. */
export interface FinishResult {
  tip: string;
  movedRefs: MovedRef[];
}

/**
 * One worker's worktree, used by one task at a time. It remembers what it has learnt about
 * the worktree since this process started: its git directory, and whether the last attempt
 * left it clean.
 *
 * @example
 * const workspace = new Workspace('/wt/w1');
 * await workspace.prepare('coord/fix-login', 'c0ffee...');
 * // ... the task runs in /wt/w1 ...
 * const commit = await workspace.finish('coord/fix-login', 'fix-login', 1);
 */
export class Workspace {
  #gitDir: string | null = null;
  /** The repository's git directory, shared by every worktree (its refs live there). */
  #commonDir: string | null = null;
  /**
   * The commit a completed {@link finish} left the worktree detached and clean at: its
   * status listed nothing to commit, so nothing untracked was there (ignored files aside),
   * and no task has run since. Null in every other case: a new worker process (a crashed
   * worker's attempt may have left anything), a finish that failed or committed, and from
   * the start of each prepare until its attempt's finish completes.
   *
   * The race this leaves: something a task left running that outlives its finish (a process
   * that escaped its process group, a timer in a module handler's warm thread) and writes an
   * untracked file before the next prepare. The skipped `clean` does not remove it, and the
   * next task's finish commits it, as it would anything that writer produced during that task.
   */
  #cleanAt: string | null = null;
  /** The refs outside `refs/heads/coord/` and the HEAD reflog's end, as the attempt began. */
  #guard: { refs: RefMap; mark: number } | null = null;
  /** The commit this process last put the worktree at (a prepare's start commit, a finish's tip); null before either. */
  #head: string | null = null;

  /** The commit the worktree was last put at by this process, or null when it has not been yet. */
  get head(): string | null {
    return this.#head;
  }

  /**
   * Something ran in the worktree without a prepare (a task with `workspace: none`): it is no
   * longer known to be clean, so the next prepare cleans it.
   */
  touched(): void {
    this.#cleanAt = null;
  }

  /**
   * @param repoRoot the main checkout, from which a broken worktree is rebuilt (null: never
   *   rebuild, e.g. a worktree made by hand in a test).
   * @param onRepaired told what was wrong each time the worktree is rebuilt.
   */
  constructor(
    readonly worktree: string,
    private readonly repoRoot: string | null = null,
    private readonly onRepaired: (found: Exclude<WorktreeHealth, 'ok'> | 'unusable') => void = () => {},
  ) {}

  /**
   * Cleans the worktree (tracked changes reset, untracked files removed, ignored files kept)
   * and switches it to `branch`, created or reset at `startCommit`. `-B` because a retried
   * attempt reuses its branch; the supervisor refuses to use a branch a user owns.
   */
  async prepare(branch: string, startCommit: string): Promise<void> {
    const cwd = this.worktree;
    // Known clean only when it is left at this very commit: checking out another one can
    // change the .gitignore files, and a file ignored before may be untracked after, which
    // `clean` removes (otherwise this task's finish would commit it).
    let knownClean = this.#cleanAt === startCommit;
    this.#cleanAt = null;
    this.#guard = null;
    // Two stats, no git process: a task may have deleted `.git` or removed the worktree.
    const health = await worktreeHealth(cwd);
    if (health !== 'ok') {
      await this.#rebuild(health, startCommit);
      knownClean = false;
    }
    await this.#removeStaleLocks(branch);
    // One command resets tracked files (-f) and moves to the branch (-B creates or resets it);
    // `clean` then removes what an earlier, interrupted attempt left untracked.
    // --ignore-other-worktrees: after a crash the branch may still be checked out in the dead
    // worker's worktree; newer git refuses that without the flag.
    try {
      // Clean at this very commit: only the branch and HEAD need to move, no file does.
      const moved = knownClean && (await this.#moveOnto(branch, startCommit));
      if (!moved) await this.#checkout(branch, startCommit, knownClean);
    } catch (error) {
      // A start commit that does not exist is not the worktree's fault: nothing to rebuild.
      const found = await runGit(['cat-file', '-e', `${startCommit}^{commit}`], { cwd, okExitCodes: [0, 1, 128] });
      if (found.exitCode !== 0) {
        throw new CoordError('GIT_FAILED', `the start commit ${startCommit} does not exist in the repository`, { cause: error, details: { startCommitMissing: true } });
      }
      // Something in the worktree itself (a corrupt index, a stuck lock): rebuild it once.
      await this.#rebuild('unusable', startCommit);
      await this.#checkout(branch, startCommit, false);
    }
    this.#head = startCommit;
    // After coord's own checkout, so its reflog lines are not taken for the task's.
    this.#guard = { refs: await snapshotRefs(cwd, this.#commonDir), mark: await reflogMark(this.#gitDir ?? '') };
  }

  /**
   * Puts `branch` at `startCommit` and HEAD on it without touching the index or the files,
   * which already hold `startCommit`: false when HEAD's lock is held (git is asked then).
   */
  async #moveOnto(branch: string, startCommit: string): Promise<boolean> {
    if (this.#gitDir === null) return false;
    const ref = `refs/heads/${branch}`;
    const written = this.#commonDir !== null && (await writeLooseRef(this.#commonDir, ref, startCommit));
    if (!written) await runGit(['update-ref', '-m', `coord: ${branch} at ${startCommit}`, ref, startCommit], { cwd: this.worktree });
    return writeHead(this.#gitDir, ref);
  }

  async #checkout(branch: string, startCommit: string, knownClean: boolean): Promise<void> {
    const cwd = this.worktree;
    await runGit(['checkout', '--quiet', '--force', '--no-guess', '--ignore-other-worktrees', '-B', branch, startCommit], { cwd });
    if (!knownClean) await runGit(['clean', '-fd', '--quiet'], { cwd });
  }

  async #rebuild(found: Exclude<WorktreeHealth, 'ok'> | 'unusable', startCommit: string): Promise<void> {
    if (this.repoRoot === null) throw new Error(`the worktree ${this.worktree} is broken (${found}) and cannot be rebuilt here`);
    await rebuildWorktree(this.repoRoot, this.worktree, startCommit);
    this.#gitDir = null;
    this.#commonDir = null;
    this.onRepaired(found);
  }

  /**
   * Commits uncommitted changes (untracked files included, ignored ones not) on `branch`
   * with the message `coord: <taskId> attempt <n> (uncommitted changes)`, returns the branch
   * tip, and leaves the worktree detached and clean.
   */
  async finish(branch: string, taskId: string, attempt: number): Promise<FinishResult> {
    const cwd = this.worktree;
    this.#cleanAt = null;
    // Without its `.git`, git here would find whatever repository encloses the folder. A
    // task that deleted the index still has its files, and `add -A` below writes a new one.
    const health = await worktreeHealth(cwd);
    if (health !== 'ok' && health !== 'no-index') throw new CoordError('GIT_FAILED', `the task broke its worktree ${cwd} (${health}); its work could not be committed`);
    // Every process of the attempt is gone by now, so an `index.lock` it left is stale and
    // would make the commit below fail.
    await this.#removeStaleLocks(null);
    // One status says whether there is anything to commit and where HEAD is, so the clean
    // case (the task committed everything, or changed nothing) takes no add/commit/rev-parse.
    const status = parseStatus(await gitOutput(['status', '--porcelain=v2', '--branch', '--untracked-files=all'], { cwd }));
    const message = `coord: ${taskId} attempt ${attempt} (uncommitted changes)`;
    const tip = status.branch === branch
      ? await commitOnBranch(cwd, status, message)
      : await commitElsewhere(cwd, branch, status, message);
    // Detached (at the tip: HEAD may be on a branch that is not the task's), so the branch is
    // not checked out here and can be checked out or merged elsewhere. Everything was
    // committed above, so the worktree is clean (ignored files stay). HEAD on the task's
    // branch is at the tip already: only its file changes.
    const detached = status.branch === branch && this.#gitDir !== null && (await writeHead(this.#gitDir, tip));
    if (!detached) await runGit(['switch', '--quiet', '--detach', tip], { cwd });
    this.#head = tip;
    const guard = this.#guard;
    this.#guard = null;
    const movedRefs = guard === null ? [] : await guardRefs(cwd, this.#gitDir ?? '', guard.refs, guard.mark, status.branch === branch ? null : status.branch, this.#commonDir);
    if (!status.dirty && status.head === tip) this.#cleanAt = tip;
    return { tip, movedRefs };
  }

  // An agent killed in the middle of a git command leaves `index.lock` behind, and every later
  // git command in this worktree would then fail. Only one task runs per worktree and all its
  // processes are dead by the time the next attempt prepares, so a lock found here is stale.
  async #removeStaleLocks(branch: string | null): Promise<void> {
    const cwd = this.worktree;
    // A worktree's git directories never change: asked once.
    if (this.#gitDir === null) {
      const [gitDir = '', commonDir = ''] = (await gitOutput(['rev-parse', '--git-dir', '--git-common-dir'], { cwd })).split('\n');
      this.#gitDir = path.resolve(cwd, gitDir);
      this.#commonDir = path.resolve(cwd, commonDir);
    }
    // Synchronous: a stat of microseconds before every task, not a trip through the thread pool.
    // HEAD's lock too: this worker writes HEAD itself (head-file.ts), and one killed between
    // creating the lock and renaming it leaves it behind, which every later checkout refuses.
    for (const name of ['index.lock', 'HEAD.lock']) {
      const lock = path.join(this.#gitDir, name);
      if (existsSync(lock)) rmSync(lock, { force: true });
    }
    // Only the worker running a task writes its branch, so a lock on it now was left by a
    // worker killed while writing it (ref-write.ts), and would make git refuse the branch too.
    if (branch !== null && this.#commonDir !== null) rmSync(path.join(this.#commonDir, 'refs', 'heads', `${branch}.lock`), { force: true });
  }
}

/** What `git status --porcelain=v2 --branch` says about HEAD and the tree. */
export interface TreeStatus {
  /** HEAD's commit. */
  head: string;
  /** The branch HEAD is on (`coord/x`, without `refs/heads/`), or null when detached. */
  branch: string | null;
  /** Whether any path is changed, deleted, unmerged or untracked (not ignored). */
  dirty: boolean;
}

/**
 * Reads the output of `git status --porcelain=v2 --branch`: `# branch.*` header lines, then
 * one line per path that differs.
 *
 * @example
 * parseStatus('# branch.oid c0ffee\n# branch.head coord/a') // { head: 'c0ffee', branch: 'coord/a', dirty: false }
 */
export function parseStatus(output: string): TreeStatus {
  const status: TreeStatus = { head: '', branch: null, dirty: false };
  for (const line of output.split('\n')) {
    if (line.startsWith('# branch.oid ')) status.head = line.slice('# branch.oid '.length);
    else if (line.startsWith('# branch.head ')) {
      const name = line.slice('# branch.head '.length);
      status.branch = name === '(detached)' ? null : name;
    } else if (line !== '' && !line.startsWith('# ')) status.dirty = true;
  }
  return status;
}

/** The usual case, HEAD on the task's branch: commit what is uncommitted there. Resolves with the tip. */
async function commitOnBranch(cwd: string, status: TreeStatus, message: string): Promise<string> {
  if (!status.dirty) return status.head;
  await runGit(['add', '--all'], { cwd });
  // `diff --cached --quiet` exits 1 when something is staged. (Porcelain status can list
  // changes that cannot be staged, such as a dirty submodule, and commit would then fail.)
  const staged = (await runGit(['diff', '--cached', '--quiet'], { cwd, okExitCodes: [0, 1] })).exitCode === 1;
  if (!staged) return status.head;
  // --no-verify: a hook that rejects the commit would lose the task's work, and the merge
  // queue's test gate is where the work gets judged.
  await runGit(['-c', 'commit.gpgsign=false', 'commit', '--quiet', '--no-verify', '-m', message], { cwd, env: await identityEnv(cwd) });
  return gitOutput(['rev-parse', 'HEAD'], { cwd });
}

/**
 * HEAD is detached, or on a branch that is not the task's (it ran `git checkout main`): the
 * worktree's state is committed onto the task's branch, never onto that other branch.
 * Commits the task made on a detached HEAD that descends from the branch are kept (the
 * branch moves to them); otherwise the worktree's tree becomes a new commit on top of the
 * branch. Resolves with the branch's new tip.
 */
async function commitElsewhere(cwd: string, branch: string, status: TreeStatus, message: string): Promise<string> {
  const ref = `refs/heads/${branch}`;
  const tip = await gitOutput(['rev-parse', '--verify', `${ref}^{commit}`], { cwd });
  const descends = (await runGit(['merge-base', '--is-ancestor', tip, status.head], { cwd, okExitCodes: [0, 1] })).exitCode === 0;
  const parent = descends ? status.head : tip;
  if (status.dirty) await runGit(['add', '--all'], { cwd });
  const tree = await gitOutput(['write-tree'], { cwd });
  const parentTree = await gitOutput(['rev-parse', `${parent}^{tree}`], { cwd });
  const next = tree === parentTree
    ? parent
    : await gitOutput(['-c', 'commit.gpgsign=false', 'commit-tree', tree, '-p', parent, '-m', message], { cwd, env: await identityEnv(cwd) });
  // Compare-and-swap on the branch: nothing else should move it, and if something did, fail loudly.
  if (next !== tip) await runGit(['update-ref', ref, next, tip], { cwd });
  return next;
}
