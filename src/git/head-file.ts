/**
 * A worktree's HEAD written as git writes it (a `HEAD.lock` created exclusively, then
 * renamed over `HEAD`), for the moves where nothing in the index or the files changes:
 * onto a branch that points at the commit HEAD is already at, or detached at the commit
 * its branch points at. That saves a git process per move; anything else goes through git.
 */
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
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
  // Synchronous: four calls of microseconds each, not four trips through libuv's thread pool.
  let fd: number;
  try {
    fd = openSync(lock, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    writeSync(fd, target.startsWith('refs/') ? `ref: ${target}\n` : `${target}\n`);
    closeSync(fd);
    renameSync(lock, head);
    return true;
  } catch (error) {
    try {
      closeSync(fd);
    } catch {
      // closed already
    }
    rmSync(lock, { force: true });
    throw error;
  }
}
