/**
 * One writer per worktree: a worker's worktree is owned by one live supervisor, through an
 * OS lock held for the supervisor's life (`<worktree-root>/.locks/<worker>.lock`, see
 * locks/file-lock.ts), plus git's own `git worktree lock` with the owner as its reason, so
 * `git worktree list` names the owner and `git worktree prune`/`remove` leave it alone. The
 * git lock is informative only (it outlives a `kill -9`); the OS lock decides.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { lockOrRefuse, type HeldLock, type LockHolder } from '../locks/file-lock.js';
import { registrationOf } from './worktree-health.js';

/** Takes the OS lock of `worktree` (in `root`) or throws `WORKTREE_LOCKED` naming the owner. */
export async function lockWorktree(root: string, worktree: string, holder: LockHolder): Promise<HeldLock> {
  const dir = path.join(root, '.locks');
  await mkdir(dir, { recursive: true });
  return lockOrRefuse(path.join(dir, `${path.basename(worktree)}.lock`), { ...holder, what: `the worktree ${worktree}` }, 'WORKTREE_LOCKED',
    'each supervisor needs its own --worktree-root');
}

/** The reason written into git's lock: who owns the worktree. */
export function gitLockReason(holder: LockHolder): string {
  return `coord supervisor pid ${holder.pid} node ${holder.nodeId} on ${holder.host}`;
}

/**
 * Sets (or replaces) git's lock on `worktree`. Written as git writes it (the `locked` file
 * of the registration, holding the reason; see gitrepository-layout), which saves two git
 * processes per worker at every start.
 */
export async function setGitLock(commonDir: string, worktree: string, reason: string): Promise<void> {
  const admin = await registrationOf(commonDir, worktree);
  if (admin !== null) await writeFile(path.join(admin, 'locked'), `${reason}\n`);
}

/** Removes git's lock on `worktree` (at a clean stop). */
export async function clearGitLock(commonDir: string, worktree: string): Promise<void> {
  const admin = await registrationOf(commonDir, worktree);
  if (admin !== null) await rm(path.join(admin, 'locked'), { force: true });
}
