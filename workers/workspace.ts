/**
 * Git in the worker's worktree, around each task attempt: {@link Workspace.prepare} makes
 * the worktree clean and puts it on the task's branch; {@link Workspace.finish} commits
 * whatever the task left uncommitted, so nothing a task wrote is lost (failed attempts
 * included), reports the branch tip and leaves the worktree detached and clean for the next
 * task. All git calls go through `runGit`, so a failure is a `GIT_FAILED` CoordError.
 *
 * Each `git` process costs 10–20 ms on a loaded machine, as much as a short task itself, so
 * an attempt that changes nothing takes three: a checkout before it, a status and a detach
 * after it; plus a clean before it unless the previous attempt left the worktree clean at
 * the same start commit.
 */
import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { identityEnv } from '../src/git/identity.js';
import { gitOutput, runGit } from '../src/git/run-git.js';

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

  constructor(readonly worktree: string) {}

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
    const knownClean = this.#cleanAt === startCommit;
    this.#cleanAt = null;
    await this.#removeStaleIndexLock();
    // One command resets tracked files (-f) and moves to the branch (-B creates or resets it);
    // `clean` then removes what an earlier, interrupted attempt left untracked.
    // --ignore-other-worktrees: after a crash the branch may still be checked out in the dead
    // worker's worktree; newer git refuses that without the flag.
    await runGit(['checkout', '--quiet', '--force', '--no-guess', '--ignore-other-worktrees', '-B', branch, startCommit], { cwd });
    if (!knownClean) await runGit(['clean', '-fd', '--quiet'], { cwd });
  }

  /**
   * Commits uncommitted changes (untracked files included, ignored ones not) on `branch`
   * with the message `coord: <taskId> attempt <n> (uncommitted changes)`, returns the branch
   * tip, and leaves the worktree detached and clean.
   */
  async finish(branch: string, taskId: string, attempt: number): Promise<string> {
    const cwd = this.worktree;
    this.#cleanAt = null;
    // One status says whether there is anything to commit and where HEAD is, so the clean
    // case (the task committed everything, or changed nothing) takes no add/commit/rev-parse.
    const status = parseStatus(await gitOutput(['status', '--porcelain=v2', '--branch', '--untracked-files=all'], { cwd }));
    let head = status.head;
    if (status.dirty) {
      await runGit(['add', '--all'], { cwd });
      // `diff --cached --quiet` exits 1 when something is staged. (Porcelain status can list
      // changes that cannot be staged, such as a dirty submodule, and commit would then fail.)
      const staged = (await runGit(['diff', '--cached', '--quiet'], { cwd, okExitCodes: [0, 1] })).exitCode === 1;
      if (staged) {
        const message = `coord: ${taskId} attempt ${attempt} (uncommitted changes)`;
        // --no-verify: a hook that rejects the commit would lose the task's work, and the
        // merge queue's test gate is where the work gets judged.
        await runGit(['-c', 'commit.gpgsign=false', 'commit', '--quiet', '--no-verify', '-m', message], { cwd, env: await identityEnv(cwd) });
        head = await gitOutput(['rev-parse', 'HEAD'], { cwd });
      }
    }
    const tip = await adoptMovedHead(cwd, branch, head, status.branch);
    // Detached, so the branch is not checked out here and can be checked out or merged
    // elsewhere. Everything was committed above, so the worktree is clean (ignored files stay).
    await runGit(['switch', '--quiet', '--detach'], { cwd });
    if (!status.dirty) this.#cleanAt = head;
    return tip;
  }

  // An agent killed in the middle of a git command leaves `index.lock` behind, and every later
  // git command in this worktree would then fail. Only one task runs per worktree and all its
  // processes are dead by the time the next attempt prepares, so a lock found here is stale.
  async #removeStaleIndexLock(): Promise<void> {
    const cwd = this.worktree;
    // A worktree's git directory never changes: asked once.
    this.#gitDir ??= path.resolve(cwd, await gitOutput(['rev-parse', '--git-dir'], { cwd }));
    const lock = path.join(this.#gitDir, 'index.lock');
    const found = await stat(lock).then(() => true, () => false);
    if (found) await rm(lock, { force: true });
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

// A task that detached HEAD (or switched away) and committed there would lose those
// commits with the branch report. When HEAD is a descendant of the branch tip, the
// branch is fast-forwarded to it; otherwise the branch is reported as it stands.
// Resolves with the branch tip.
async function adoptMovedHead(cwd: string, branch: string, head: string, headBranch: string | null): Promise<string> {
  if (headBranch === branch) return head;
  const ref = `refs/heads/${branch}`;
  const descends = await runGit(['merge-base', '--is-ancestor', ref, head], { cwd, okExitCodes: [0, 1] });
  if (descends.exitCode === 0) {
    await runGit(['update-ref', ref, head], { cwd });
    return head;
  }
  return gitOutput(['rev-parse', '--verify', `${ref}^{commit}`], { cwd });
}
