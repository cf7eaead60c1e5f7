/**
 * Opening the user's repository: it must exist, be a git work tree with at least one
 * commit, and be clean (tasks start from a commit, so uncommitted edits would silently be
 * left out of every task: refusing is kinder than surprising).
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { CoordError } from '../errors.js';
import { gitOutput, runGit } from '../git/run-git.js';

/** A repository coord runs against. */
export interface Repository {
  /** Absolute path of the main working tree. */
  root: string;
  /** Absolute path of the common git directory (shared by every worktree). */
  gitDir: string;
  /** The commit tasks without dependencies start from. */
  baseCommit: string;
}

export interface OpenRepositoryOptions {
  /** A ref or commit to start from; default: HEAD at start. */
  baseRef?: string;
  /** Refuse a repository with uncommitted changes (default true). */
  requireClean?: boolean;
}

/** Validates `repoPath` and resolves its base commit. Throws coded errors. */
export async function openRepository(repoPath: string, options: OpenRepositoryOptions = {}): Promise<Repository> {
  const abs = path.resolve(repoPath);
  const info = await stat(abs).catch(() => null);
  if (!info?.isDirectory()) {
    throw new CoordError('REPO_NOT_FOUND', `repository not found: ${abs} is not a directory`, { details: { repo: abs } });
  }
  const top = await runGit(['rev-parse', '--show-toplevel'], { cwd: abs, okExitCodes: [0, 128] });
  if (top.exitCode !== 0) {
    throw new CoordError('REPO_NOT_FOUND', `not a git repository: ${abs}`, { details: { repo: abs } });
  }
  const root = top.stdout.trim();
  const gitDir = path.resolve(root, await gitOutput(['rev-parse', '--git-common-dir'], { cwd: root }));
  const ref = options.baseRef ?? 'HEAD';
  const base = await runGit(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { cwd: root, okExitCodes: [0, 1, 128] });
  if (base.exitCode !== 0) {
    throw new CoordError(
      ref === 'HEAD' ? 'REPO_NO_COMMITS' : 'GIT_FAILED',
      ref === 'HEAD' ? `repository ${root} has no commits yet: commit something to start from` : `base ref "${ref}" is not a commit in ${root}`,
      { details: { repo: root, ref } },
    );
  }
  if (options.requireClean ?? true) {
    const status = await gitOutput(['status', '--porcelain'], { cwd: root });
    if (status !== '') {
      const files = status.split('\n').slice(0, 10).map((line) => line.slice(3));
      throw new CoordError('REPO_DIRTY', `repository ${root} has uncommitted changes (${files.join(', ')}): commit or stash them first`, {
        details: { repo: root, files },
      });
    }
  }
  return { root, gitDir, baseCommit: base.stdout.trim() };
}

/** The names of existing `coord/*` branches in the repository (without the `refs/heads/`). */
export async function existingTaskBranches(repo: Repository): Promise<Set<string>> {
  const out = await gitOutput(['for-each-ref', '--format=%(refname:short)', 'refs/heads/coord/'], { cwd: repo.root });
  return new Set(out === '' ? [] : out.split('\n'));
}
