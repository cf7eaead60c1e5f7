/**
 * The merge queue's own worktree, where candidates are checked out and tested: created once
 * (detached, so it holds no branch), then reused for every candidate with a forced checkout
 * and a clean of untracked files. Ignored files (node_modules, build caches) are kept, so a
 * test does not reinstall everything on each run. A folder that is no longer a usable
 * worktree is the queue's own, and is rebuilt.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { isCoordError } from '../errors.js';
import { runGit } from '../git/run-git.js';
import type { Logger } from '../log/logger.js';

/** Checks `commit` out in the merge worktree at `worktree`, creating it when needed. */
export async function prepareWorktree(repoRoot: string, worktree: string, commit: string, logger: Logger): Promise<void> {
  if (existsSync(path.join(worktree, '.git'))) {
    try {
      await runGit(['checkout', '--quiet', '--detach', '--force', commit], { cwd: worktree });
      await runGit(['clean', '-fd', '--quiet'], { cwd: worktree });
      return;
    } catch (error) {
      if (!isCoordError(error)) throw error;
      logger.warn({ err: error, worktree }, 'the merge worktree is unusable; rebuilding it');
    }
  }
  rmSync(worktree, { recursive: true, force: true });
  mkdirSync(path.dirname(worktree), { recursive: true });
  // --force: the folder may still be registered after someone deleted it.
  await runGit(['worktree', 'add', '--quiet', '--force', '--detach', worktree, commit], { cwd: repoRoot, errorCode: 'WORKTREE_FAILED' });
}
