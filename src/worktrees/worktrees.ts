/**
 * One persistent worktree per worker, owned by this supervisor for its whole life (an OS
 * lock per worktree, see worktree-lock.ts: a worktree another live supervisor owns is
 * refused with `WORKTREE_LOCKED`). An existing worktree registered for this repository is
 * reused as it is (the worker cleans it before each task); one a task broke (its `.git`
 * deleted, the worktree removed) is rebuilt. `git worktree add` is serialized: parallel adds
 * race on `.git/worktrees` and on the index lock inside git.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { CoordError } from '../errors.js';
import { gitOutput } from '../git/run-git.js';
import type { HeldLock, LockHolder } from '../locks/file-lock.js';
import type { Repository } from './repository.js';
import { adminDirOf, rebuildWorktree, worktreeHealth, type WorktreeHealth } from './worktree-health.js';
import { clearGitLock, gitLockReason, lockWorktree, setGitLock } from './worktree-lock.js';

/** Where worktrees live by default: beside the repository, never inside its working tree. */
export function defaultWorktreeRoot(repo: Repository): string {
  return path.join(path.dirname(repo.root), `${path.basename(repo.root)}.coord-worktrees`);
}

/** A worktree made ready for a worker; `repaired` says what was wrong with it, if anything. */
export interface EnsuredWorktree {
  path: string;
  repaired: Exclude<WorktreeHealth, 'ok'> | null;
}

/** Creates, reuses or rebuilds worktrees for workers, one `git worktree add` at a time. */
export class WorktreeManager {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly locks = new Map<string, HeldLock>();

  constructor(
    private readonly repo: Repository,
    readonly root: string,
    private readonly owner: LockHolder,
  ) {}

  /** Locks and readies the worktree of `workerId`, created (detached at the base commit) if missing. */
  ensure(workerId: string): Promise<EnsuredWorktree> {
    const next = this.queue.then(() => this.ensureNow(workerId));
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Lifts git's lock on every worktree and drops the OS locks (at a stop). */
  async releaseAll(): Promise<void> {
    for (const [worktree, lock] of this.locks) {
      await clearGitLock(this.repo.gitDir, worktree).catch(() => undefined);
      lock.release();
    }
    this.locks.clear();
  }

  private async ensureNow(workerId: string): Promise<EnsuredWorktree> {
    const target = path.join(this.root, workerId);
    await mkdir(this.root, { recursive: true });
    // Before anything touches the worktree: another live supervisor may be using it.
    if (!this.locks.has(target)) this.locks.set(target, await lockWorktree(this.root, target, this.owner));
    const health = await worktreeHealth(target);
    const registered = (await this.registered()).has(target);
    if (health !== 'ok' || !registered) {
      if (health !== 'missing' && !registered && !(await this.pointsHere(target))) {
        throw new CoordError('WORKTREE_FAILED', `${target} exists but is not a worktree of ${this.repo.root}: move it away or pick another --worktree-root`, {
          details: { worktree: target },
        });
      }
      await rebuildWorktree(this.repo.root, target, this.repo.baseCommit, this.repo.gitDir);
    }
    await setGitLock(this.repo.gitDir, target, gitLockReason(this.owner));
    return { path: target, repaired: health === 'ok' || health === 'missing' ? null : health };
  }

  /** A folder whose `.git` points into this repository's worktrees: one of ours whose registration is gone. */
  private async pointsHere(target: string): Promise<boolean> {
    const admin = await adminDirOf(target);
    return admin !== null && admin.startsWith(path.join(this.repo.gitDir, 'worktrees') + path.sep);
  }

  private async registered(): Promise<Set<string>> {
    const out = await gitOutput(['worktree', 'list', '--porcelain'], { cwd: this.repo.root });
    const paths = out
      .split('\n')
      .filter((line) => line.startsWith('worktree '))
      .map((line) => path.resolve(line.slice('worktree '.length)));
    return new Set(paths);
  }
}
