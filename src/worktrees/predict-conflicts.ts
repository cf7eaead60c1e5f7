/**
 * Conflict prediction between task branches: `git merge-tree --write-tree` merges two
 * commits in memory, so live branches are compared without touching any worktree.
 */
import { runGit } from '../git/run-git.js';

export interface PredictedConflict {
  taskId: string;
  files: string[];
}

/** Files that would conflict when merging `ref` with each of `others`; only conflicting ones are returned. */
export async function predictConflicts(repoRoot: string, ref: string, others: ReadonlyArray<{ taskId: string; ref: string }>): Promise<PredictedConflict[]> {
  const conflicts: PredictedConflict[] = [];
  for (const other of others) {
    const result = await runGit(['merge-tree', '--write-tree', '--name-only', ref, other.ref], { cwd: repoRoot, okExitCodes: [0, 1] });
    if (result.exitCode !== 1) continue;
    conflicts.push({ taskId: other.taskId, files: conflictedFiles(result.stdout) });
  }
  return conflicts;
}

/** The conflicted file names in `merge-tree --write-tree --name-only` output (tree id first, then names up to a blank line). */
export function conflictedFiles(stdout: string): string[] {
  const [, ...lines] = stdout.split('\n');
  const blank = lines.indexOf('');
  return [...new Set((blank === -1 ? lines : lines.slice(0, blank)).filter((line) => line !== ''))];
}
