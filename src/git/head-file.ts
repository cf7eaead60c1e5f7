/**
 * A worktree's HEAD written as git writes it (a `HEAD.lock` created exclusively, then
 * renamed over `HEAD`), for the moves where nothing in the index or the files changes:
 * onto a branch that points at the commit HEAD is already at, or detached at the commit
 * its branch points at. That saves a git process per move; anything else goes through git.
 */
import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/**
 * Points HEAD of the worktree whose private git directory is `gitDir` at `target`: a branch
 * (`refs/heads/…`, a symbolic ref) or an object id (detached). False, with HEAD untouched,
 * when its lock is held (git or a task is changing it): the caller then asks git.
 *
 * @example
 * await writeHead('/repo/.git/worktrees/w1', 'refs/heads/coord/fix') // HEAD: "ref: refs/heads/coord/fix"
 */
export async function writeHead(gitDir: string, target: string): Promise<boolean> {
  const head = path.join(gitDir, 'HEAD');
  const lock = `${head}.lock`;
  const file = await open(lock, 'wx').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'EEXIST') return null;
    throw error;
  });
  if (file === null) return false;
  try {
    await file.writeFile(target.startsWith('refs/') ? `ref: ${target}\n` : `${target}\n`);
    await file.close();
    await rename(lock, head);
    return true;
  } catch (error) {
    await file.close().catch(() => {});
    await rm(lock, { force: true });
    throw error;
  }
}
