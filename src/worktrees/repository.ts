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
  /** Files with uncommitted changes when it was opened (only when dirty was allowed): no task sees them. */
  uncommitted: string[];
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
  const files = changedFiles((await runGit(['status', '--porcelain', '-z'], { cwd: root })).stdout);
  if (options.requireClean ?? true) {
    if (files.length > 0) {
      const shown = files.slice(0, 10).join(', ') + (files.length > 10 ? ` and ${files.length - 10} more` : '');
      throw new CoordError('REPO_DIRTY',
        `repository ${root} has uncommitted changes (${shown}): commit or stash them first, or run with --allow-dirty (tasks start from the last commit and will not see them)`,
        { details: { repo: root, files } });
    }
  }
  return { root, gitDir, baseCommit: base.stdout.trim(), uncommitted: files };
}

/**
 * The paths `git status --porcelain -z` lists: `XY path`, NUL-terminated, a rename or copy
 * followed by its source path as one more entry. Read raw: the status columns start with a
 * space that trimming would eat, with the path's first character after it.
 */
export function changedFiles(porcelainZ: string): string[] {
  const entries = porcelainZ.split('\0').filter((entry) => entry !== '');
  const files: string[] = [];
  for (let i = 0; i < entries.length; i += 1) {
    const entry = entries[i] as string;
    files.push(entry.slice(3));
    if (entry[0] === 'R' || entry[0] === 'C') i += 1; // the source path of a rename or copy
  }
  return files;
}

/** The names of existing `coord/*` branches in the repository (without the `refs/heads/`). */
export async function existingTaskBranches(repo: Repository): Promise<Set<string>> {
  const out = await gitOutput(['for-each-ref', '--format=%(refname:short)', 'refs/heads/coord/'], { cwd: repo.root });
  return new Set(out === '' ? [] : out.split('\n'));
}
