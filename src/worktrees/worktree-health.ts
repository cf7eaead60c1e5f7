/**
 * Is a worker's worktree still a worktree? A task can break its own workspace: delete the
 * `.git` file, `git worktree remove` it, or die in the middle of a git command and leave
 * `index.lock` behind. Each of these makes every later git command there fail, so the
 * worktree is checked before each task (two `stat`s, no git process) and at start-up, and
 * rebuilt (see worktree-rebuild.ts) rather than blamed on the next task. A worktree whose
 * checkout was interrupted (coord killed while it was being made) has no index yet, and is
 * rebuilt too.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { gitOutput } from '../git/run-git.js';

/** What is wrong with a worktree, or `ok`. */
export type WorktreeHealth = 'ok' | 'missing' | 'no-git-file' | 'not-registered' | 'no-index';

const isDir = (p: string): Promise<boolean> => stat(p).then((s) => s.isDirectory(), () => false);
const isFile = (p: string): Promise<boolean> => stat(p).then((s) => s.isFile(), () => false);

/** The worktree's private git directory, from its `.git` file (`gitdir: …`), or null. */
export async function adminDirOf(worktree: string): Promise<string | null> {
  const text = await readFile(path.join(worktree, '.git'), 'utf8').catch(() => null);
  const match = text === null ? null : /^gitdir: (.+)$/m.exec(text);
  return match?.[1] ? path.resolve(worktree, match[1].trim()) : null;
}

/** Checks `worktree` without running git (three file system calls when it is healthy). */
export async function worktreeHealth(worktree: string): Promise<WorktreeHealth> {
  if (!(await isDir(worktree))) return 'missing';
  const admin = await adminDirOf(worktree);
  if (admin === null) return 'no-git-file';
  // git writes the index last, once every file is checked out: without it the checkout that
  // made this worktree never completed, and its files may be any part of the commit's.
  if (await isFile(path.join(admin, 'index'))) return 'ok';
  // `git worktree remove` deletes the admin directory; a copied `.git` file may point nowhere.
  return (await isDir(admin)) ? 'no-index' : 'not-registered';
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
