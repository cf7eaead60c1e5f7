/**
 * A merge candidate: the target tip with a group of entries merged onto it, one after the
 * other, built entirely in the object database (`merge-tree --write-tree`, `commit-tree`), so
 * no checkout is touched. An entry that conflicts with what is built so far is left out and
 * reported with its files; the others go on.
 */
import { runGit, gitOutput } from '../git/run-git.js';
import { conflictedFiles } from '../worktrees/predict-conflicts.js';
import type { MergeEntry, MergeSettings } from './types.js';

/** An entry left out of a candidate. */
export interface CandidateConflict<T> {
  entry: T;
  /** The conflicting files (empty when the entry's commit is not in the repository). */
  files: string[];
  message: string;
}

export interface Candidate<T> {
  /** The tip the candidate was built on. */
  base: string;
  /** The candidate commit (`base` itself when nothing new was applied). */
  commit: string;
  /** The entries in the candidate, in order (including any already contained in `base`). */
  applied: T[];
  conflicts: CandidateConflict<T>[];
}

export interface CandidateRequest<T> {
  repoRoot: string;
  target: string;
  base: string;
  entries: readonly T[];
  mode: MergeSettings['mode'];
  /** Identity for `commit-tree` (see `identityEnv`). */
  env: Record<string, string>;
}

/** The commit message of an entry's commit on the target. */
export function commitMessage(entry: Pick<MergeEntry, 'taskId' | 'branch'>, mode: MergeSettings['mode']): string {
  return mode === 'merge' ? `coord: merge ${entry.taskId} (${entry.branch})` : `coord: squash ${entry.taskId}`;
}

/** Builds the candidate for `entries` on `base`; writes objects only, never a ref or a checkout. */
export async function buildCandidate<T extends MergeEntry>(request: CandidateRequest<T>): Promise<Candidate<T>> {
  const { repoRoot, target, base, mode, env } = request;
  const candidate: Candidate<T> = { base, commit: base, applied: [], conflicts: [] };
  for (const entry of request.entries) {
    const contained = await runGit(['merge-base', '--is-ancestor', entry.commit, candidate.commit], { cwd: repoRoot, okExitCodes: [0, 1, 128] });
    if (contained.exitCode === 128) {
      candidate.conflicts.push({ entry, files: [], message: `the commit ${entry.commit} of ${entry.branch} is not in the repository` });
      continue;
    }
    if (contained.exitCode === 0) {
      candidate.applied.push(entry);
      continue;
    }
    const merged = await runGit(['merge-tree', '--write-tree', '--name-only', candidate.commit, entry.commit], { cwd: repoRoot, okExitCodes: [0, 1] });
    if (merged.exitCode === 1) {
      const files = conflictedFiles(merged.stdout);
      candidate.conflicts.push({ entry, files, message: `${entry.branch} conflicts with ${target} in ${files.join(', ')}` });
      continue;
    }
    const tree = merged.stdout.split('\n')[0]?.trim() ?? '';
    const parents = mode === 'merge' ? ['-p', candidate.commit, '-p', entry.commit] : ['-p', candidate.commit];
    candidate.commit = await gitOutput(['commit-tree', tree, ...parents, '-m', commitMessage(entry, mode)], { cwd: repoRoot, env });
    candidate.applied.push(entry);
  }
  return candidate;
}
