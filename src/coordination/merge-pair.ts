/**
 * One pair's answer: the files a merge of two commits would leave conflicted, from
 * `git merge-tree --write-tree`, which merges in memory and touches no worktree or index.
 */
import { runGit } from '../git/run-git.js';
import { conflictedFiles } from '../worktrees/predict-conflicts.js';

/** The files merging `a` and `b` leaves conflicted (sorted), `[]` when they merge cleanly. */
export async function mergeConflictFiles(repoRoot: string, a: string, b: string): Promise<string[]> {
  // core.quotePath=false: names with non-ASCII characters come out as they are, not C-quoted.
  const result = await runGit(['-c', 'core.quotePath=false', 'merge-tree', '--write-tree', '--name-only', a, b], { cwd: repoRoot, okExitCodes: [0, 1] });
  return result.exitCode === 1 ? conflictedFiles(result.stdout).sort() : [];
}
