/**
 * Making a worktree from scratch, in two steps so that several can be made at once: the
 * registration (`git worktree add --no-checkout`: an admin directory and HEAD, a few ms) is
 * serialized, because parallel adds race on `.git/worktrees` inside git; the checkout of the
 * files, which is nearly all the cost, runs outside that lock, one per worktree, in parallel.
 * The checkout is what `git worktree add` itself runs after registering (`reset --hard
 * --no-recurse-submodules`, then the post-checkout hook), so the result is the same: index
 * written, files checked out, HEAD detached at the commit, nothing to commit.
 *
 * A checkout interrupted half-way (the process killed) leaves files but no index: git
 * writes the index last, by renaming `index.lock` once every file is written. worktreeHealth
 * reports that as `no-index`, so the worktree is rebuilt rather than reused.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { runGit } from '../git/run-git.js';
import { tryLockFile, thisProcess } from '../locks/file-lock.js';
import { commonDirOf, registrationOf } from './worktree-health.js';

/** The post-checkout hook's "previous HEAD" for a new worktree, as `git worktree add` passes it. */
const NULL_OID = '0'.repeat(40);

/** Add-lock holders of this process, per common directory: they wait their turn here instead of polling the lock file. */
const addQueues = new Map<string, Promise<unknown>>();

/**
 * Runs `fn` holding the repository-wide lock on `git worktree add`: parallel adds race on
 * `.git/worktrees` inside git, and a worker repairing its worktree runs in its own process.
 * Callers in this process queue in memory; only the head of the queue polls the lock file,
 * and only while another process holds it.
 */
async function withAddLock<T>(commonDir: string, fn: () => Promise<T>): Promise<T> {
  const turn = (addQueues.get(commonDir) ?? Promise.resolve()).then(() => underFileLock(commonDir, fn));
  const tail = turn.catch(() => undefined);
  addQueues.set(commonDir, tail);
  try {
    return await turn;
  } finally {
    if (addQueues.get(commonDir) === tail) addQueues.delete(commonDir);
  }
}

async function underFileLock<T>(commonDir: string, fn: () => Promise<T>): Promise<T> {
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
 * branch), the stale registration is pruned, and the worktree is added again, then checked
 * out outside the add lock. The caller re-applies coord's `git worktree lock` afterwards.
 * `knownCommonDir` saves asking git for the repository's common git directory when the
 * caller already knows it.
 */
export async function rebuildWorktree(repoRoot: string, worktree: string, commit: string, knownCommonDir?: string): Promise<void> {
  const commonDir = knownCommonDir ?? (await commonDirOf(repoRoot));
  // The worktree is this caller's alone (one owner per worktree): clearing it needs no add lock.
  // A registration that is still locked survives `prune`; it is ours, so unlock it.
  const admin = await registrationOf(commonDir, worktree);
  if (admin !== null) await rm(path.join(admin, 'locked'), { force: true });
  await rm(worktree, { recursive: true, force: true });
  await withAddLock(commonDir, async () => {
    await runGit(['worktree', 'prune'], { cwd: repoRoot, errorCode: 'WORKTREE_FAILED' });
    await runGit(['worktree', 'add', '--quiet', '--no-checkout', '--detach', worktree, commit], { cwd: repoRoot, errorCode: 'WORKTREE_FAILED' });
  });
  // Parallel checkout (2 worker processes write the files). On a 2-core VM whose ext4 was
  // slow to allocate inodes after many deletions it halved the CPU time of four checkouts at
  // once (first start on 20,000 files: 42 s without it, 6 s with it); on a fast disk it made
  // no measurable difference. git keeps small checkouts (under 100 files) and filtered
  // files sequential by itself.
  await runGit(['-c', 'checkout.workers=2', 'reset', '--hard', '--no-recurse-submodules', '--quiet'], { cwd: worktree, errorCode: 'WORKTREE_FAILED' });
  // `git worktree add` runs the hook in the new worktree, and fails when it fails: so does this.
  await runGit(['hook', 'run', '--ignore-missing', 'post-checkout', '--', NULL_OID, commit, '1'], { cwd: worktree, errorCode: 'WORKTREE_FAILED' });
}
