/**
 * Is a worker's worktree still a worktree? A task can break its own workspace: delete the
 * `.git` file, `git worktree remove` it, or die in the middle of a git command and leave
 * `index.lock` behind. Each of these makes every later git command there fail, so the
 * worktree is checked before each task (two `stat`s, no git process) and at start-up, and
 * rebuilt ({@link rebuildWorktree}) rather than blamed on the next task.
 */
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { gitOutput, runGit } from '../git/run-git.js';
import { tryLockFile, thisProcess } from '../locks/file-lock.js';

/** What is wrong with a worktree, or `ok`. */
export type WorktreeHealth = 'ok' | 'missing' | 'no-git-file' | 'not-registered';

const isDir = (p: string): Promise<boolean> => stat(p).then((s) => s.isDirectory(), () => false);

/** The worktree's private git directory, from its `.git` file (`gitdir: …`), or null. */
export async function adminDirOf(worktree: string): Promise<string | null> {
  const text = await readFile(path.join(worktree, '.git'), 'utf8').catch(() => null);
  const match = text === null ? null : /^gitdir: (.+)$/m.exec(text);
  return match?.[1] ? path.resolve(worktree, match[1].trim()) : null;
}

/** Checks `worktree` without running git. */
export async function worktreeHealth(worktree: string): Promise<WorktreeHealth> {
  if (!(await isDir(worktree))) return 'missing';
  const admin = await adminDirOf(worktree);
  if (admin === null) return 'no-git-file';
  // `git worktree remove` deletes the admin directory; a copied `.git` file may point nowhere.
  return (await isDir(admin)) ? 'ok' : 'not-registered';
}

/**
 * The registration (`<common-dir>/worktrees/<name>`) whose `gitdir` points at `worktree`, or
 * null. Its name is not always the folder's: git adds a suffix when two worktrees of one
 * repository share a folder name (two supervisors' `w1`).
 */
export async function registrationOf(commonDir: string, worktree: string): Promise<string | null> {
  const base = path.join(commonDir, 'worktrees');
  const target = path.join(path.resolve(worktree), '.git');
  for (const name of await readdir(base).catch(() => [] as string[])) {
    const gitdir = await readFile(path.join(base, name, 'gitdir'), 'utf8').catch(() => '');
    if (path.resolve(gitdir.trim()) === target) return path.join(base, name);
  }
  return null;
}

/** The repository's common git directory (`.git` of the main checkout). */
export async function commonDirOf(repoRoot: string): Promise<string> {
  return path.resolve(repoRoot, await gitOutput(['rev-parse', '--git-common-dir'], { cwd: repoRoot }));
}

/**
 * Runs `fn` holding the repository-wide lock on `git worktree add`: parallel adds race on
 * `.git/worktrees` inside git, and a worker repairing its worktree runs in its own process.
 */
async function withAddLock<T>(commonDir: string, fn: () => Promise<T>): Promise<T> {
  const file = path.join(commonDir, 'coord-worktree-add.lock');
  for (;;) {
    const attempt = tryLockFile(file, thisProcess('worktree-add', `git worktree add in ${commonDir}`));
    if (attempt.ok) {
      try {
        return await fn();
      } finally {
        attempt.lock.release();
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * Makes `worktree` a fresh worktree of `repoRoot`, detached at `commit`: whatever is at the
 * path is removed (it is coord's own workspace; every attempt's work is already on its
 * branch), the stale registration is pruned, and the worktree is added again. The caller
 * re-applies coord's `git worktree lock` afterwards. `knownCommonDir` saves asking git for
 * the repository's common git directory when the caller already knows it.
 */
export async function rebuildWorktree(repoRoot: string, worktree: string, commit: string, knownCommonDir?: string): Promise<void> {
  const commonDir = knownCommonDir ?? (await commonDirOf(repoRoot));
  await withAddLock(commonDir, async () => {
    // A registration that is still locked survives `prune`; it is ours, so unlock it.
    const admin = await registrationOf(commonDir, worktree);
    if (admin !== null) await rm(path.join(admin, 'locked'), { force: true });
    await rm(worktree, { recursive: true, force: true });
    await runGit(['worktree', 'prune'], { cwd: repoRoot, errorCode: 'WORKTREE_FAILED' });
    await runGit(['worktree', 'add', '--detach', worktree, commit], { cwd: repoRoot, errorCode: 'WORKTREE_FAILED' });
  });
}
