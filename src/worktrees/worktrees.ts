/**
 * One persistent worktree per worker, owned by this supervisor for its whole life (an OS
 * lock per worktree, see worktree-lock.ts: a worktree another live supervisor owns is
 * refused with `WORKTREE_LOCKED`). An existing worktree registered for this repository is
 * reused as it is (the worker cleans it before each task); one a task broke (its `.git`
 * deleted, the worktree removed, its first checkout interrupted) is rebuilt. Worktrees are
 * readied in parallel: only the registration step of a rebuild is serialized (see
 * worktree-rebuild.ts), so the checkouts of several worktrees overlap.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { CoordError } from '../errors.js';
import type { HeldLock, LockHolder } from '../locks/file-lock.js';
import type { Repository } from './repository.js';
import { adminDirOf, registrationOf, worktreeHealth, type WorktreeHealth } from './worktree-health.js';
import { rebuildWorktree } from './worktree-rebuild.js';
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

/** Creates, reuses or rebuilds worktrees for workers, several at once. */
export class WorktreeManager {
  /** The last ensure of each worker: a second one for the same worker waits for it (one OS lock, one rebuild). */
  private readonly pending = new Map<string, Promise<unknown>>();
  private readonly locks = new Map<string, HeldLock>();

  constructor(
    private readonly repo: Repository,
    readonly root: string,
    private readonly owner: LockHolder,
  ) {}

  /** Locks and readies the worktree of `workerId`, created (detached at the base commit) if missing. */
  ensure(workerId: string): Promise<EnsuredWorktree> {
    const next = (this.pending.get(workerId) ?? Promise.resolve()).then(() => this.ensureNow(workerId));
    this.pending.set(workerId, next.catch(() => undefined));
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
    const registered = (await registrationOf(this.repo.gitDir, target)) !== null;
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
}
