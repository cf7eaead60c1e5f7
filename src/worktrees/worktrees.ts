/**
 * One persistent worktree per worker. `git worktree add` is serialized: parallel adds race
 * on `.git/worktrees` and on the index lock inside git. An existing worktree registered for
 * this repository is reused as it is (the worker cleans it before each task).
 */
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { CoordError } from '../errors.js';
import { gitOutput, runGit } from '../git/run-git.js';
import type { Repository } from './repository.js';

/** Where worktrees live by default: beside the repository, never inside its working tree. */
export function defaultWorktreeRoot(repo: Repository): string {
  return path.join(path.dirname(repo.root), `${path.basename(repo.root)}.coord-worktrees`);
}

/** Creates or reuses worktrees for workers, one `git worktree add` at a time. */
export class WorktreeManager {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly repo: Repository,
    readonly root: string,
  ) {}

  /** The worktree path of `workerId`, created (detached at the base commit) if missing. */
  ensure(workerId: string): Promise<string> {
    const next = this.queue.then(() => this.ensureNow(workerId));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async ensureNow(workerId: string): Promise<string> {
    const target = path.join(this.root, workerId);
    const registered = await this.registered();
    const exists = await stat(target).then((s) => s.isDirectory(), () => false);
    if (registered.has(target) && exists) return target;
    if (exists) {
      throw new CoordError('WORKTREE_FAILED', `${target} exists but is not a worktree of ${this.repo.root}: move it away or pick another --worktree-root`, {
        details: { worktree: target },
      });
    }
    // Registered but deleted by hand: forget the stale entry before adding it again.
    if (registered.has(target)) await runGit(['worktree', 'prune'], { cwd: this.repo.root });
    await mkdir(this.root, { recursive: true });
    await runGit(['worktree', 'add', '--detach', target, this.repo.baseCommit], {
      cwd: this.repo.root,
      errorCode: 'WORKTREE_FAILED',
    });
    return target;
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
