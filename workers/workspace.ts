/**
 * Git in the worker's worktree, around each task attempt: {@link prepareBranch} makes the
 * worktree clean and puts it on the task's branch; {@link finishBranch} commits whatever
 * the task left uncommitted, so nothing a task wrote is lost (failed attempts included),
 * reports the branch tip and leaves the worktree detached and clean for the next task.
 * All git calls go through `runGit`, so a failure is a `GIT_FAILED` CoordError.
 */
import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { identityEnv } from '../src/git/identity.js';
import { gitOutput, runGit } from '../src/git/run-git.js';

/**
 * Cleans the worktree (tracked changes reset, untracked files removed, ignored files kept)
 * and switches it to `branch`, created or reset at `startCommit`. `-C` because a retried
 * attempt reuses its branch; the supervisor refuses to use a branch a user owns.
 *
 * @example
 * await prepareBranch('/wt/w1', 'coord/fix-login', 'c0ffee...');
 */
export async function prepareBranch(worktree: string, branch: string, startCommit: string): Promise<void> {
  await removeStaleIndexLock(worktree);
  // One command resets tracked files (-f) and moves to the branch (-B creates or resets it);
  // `clean` then removes what an earlier, interrupted attempt left untracked.
  // --ignore-other-worktrees: after a crash the branch may still be checked out in the dead
  // worker's worktree; newer git refuses that without the flag.
  await runGit(['checkout', '--quiet', '--force', '--no-guess', '--ignore-other-worktrees', '-B', branch, startCommit], { cwd: worktree });
  await runGit(['clean', '-fd', '--quiet'], { cwd: worktree });
}

/**
 * Commits uncommitted changes (untracked files included, ignored ones not) on `branch` with
 * the message `coord: <taskId> attempt <n> (uncommitted changes)`, returns the branch tip,
 * and leaves the worktree detached and clean.
 *
 * @example
 * const commit = await finishBranch('/wt/w1', 'coord/fix-login', 'fix-login', 1);
 */
export async function finishBranch(worktree: string, branch: string, taskId: string, attempt: number): Promise<string> {
  const cwd = worktree;
  const ref = `refs/heads/${branch}`;
  // Git is most of a short task's cost, so the clean case (the task committed everything,
  // or changed nothing) takes one `status` and no add/commit.
  const dirty = (await gitOutput(['status', '--porcelain', '--untracked-files=all'], { cwd })) !== '';
  if (dirty) {
    await runGit(['add', '--all'], { cwd });
    // `diff --cached --quiet` exits 1 when something is staged. (Porcelain status can list
    // changes that cannot be staged, such as a dirty submodule, and commit would then fail.)
    const staged = (await runGit(['diff', '--cached', '--quiet'], { cwd, okExitCodes: [0, 1] })).exitCode === 1;
    if (staged) {
      const message = `coord: ${taskId} attempt ${attempt} (uncommitted changes)`;
      // --no-verify: a hook that rejects the commit would lose the task's work, and the
      // merge queue's test gate is where the work gets judged.
      await runGit(['-c', 'commit.gpgsign=false', 'commit', '--quiet', '--no-verify', '-m', message], { cwd, env: await identityEnv(cwd) });
    }
  }
  const tip = await adoptMovedHead(cwd, ref);
  // Detached, so the branch is not checked out here and can be checked out or merged
  // elsewhere. Everything was committed above, so the worktree is clean (ignored files stay).
  await runGit(['switch', '--quiet', '--detach'], { cwd });
  return tip;
}

// A task that detached HEAD (or switched away) and committed there would lose those
// commits with the branch report. When HEAD is a descendant of the branch tip, the
// branch is fast-forwarded to it; otherwise the branch is reported as it stands.
// Resolves with the branch tip.
async function adoptMovedHead(cwd: string, ref: string): Promise<string> {
  // rev-parse options apply to the arguments after them: the sha, then the symbolic name.
  const [head = '', symbolic = ''] = (await gitOutput(['rev-parse', 'HEAD', '--symbolic-full-name', 'HEAD'], { cwd })).split('\n');
  if (symbolic === ref) return head;
  const descends = await runGit(['merge-base', '--is-ancestor', ref, head], { cwd, okExitCodes: [0, 1] });
  if (descends.exitCode === 0) {
    await runGit(['update-ref', ref, head], { cwd });
    return head;
  }
  return gitOutput(['rev-parse', '--verify', `${ref}^{commit}`], { cwd });
}

// An agent killed in the middle of a git command leaves `index.lock` behind, and every later
// git command in this worktree would then fail. Only one task runs per worktree and all its
// processes are dead by the time the next attempt prepares, so a lock found here is stale.
async function removeStaleIndexLock(cwd: string): Promise<void> {
  let gitDir = gitDirs.get(cwd);
  if (gitDir === undefined) {
    gitDir = path.resolve(cwd, await gitOutput(['rev-parse', '--git-dir'], { cwd }));
    gitDirs.set(cwd, gitDir);
  }
  const lock = path.join(gitDir, 'index.lock');
  const found = await stat(lock).then(() => true, () => false);
  if (found) await rm(lock, { force: true });
}

/** A worktree's git directory never changes: asked once per worktree. */
const gitDirs = new Map<string, string>();
