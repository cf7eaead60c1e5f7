/**
 * Where a task starts: the base commit when it has no dependencies, its dependency's tip
 * when it has one, and otherwise every dependency's tip merged together, computed without a
 * checkout (`git merge-tree --write-tree`, then `git commit-tree`), so no worktree is touched.
 */
import { identityEnv } from '../git/identity.js';
import { gitOutput, runGit } from '../git/run-git.js';
import { conflictedFiles } from './predict-conflicts.js';

export interface DependencyTip {
  taskId: string;
  commit: string;
}

export type StartCommit =
  | { ok: true; commit: string }
  | { ok: false; conflict: { between: [string, string]; files: string[] } };

/** Computes the start commit for a task whose dependencies finished at `deps`. */
export async function startCommitFor(repoRoot: string, baseCommit: string, taskId: string, deps: readonly DependencyTip[]): Promise<StartCommit> {
  const [first, ...rest] = deps;
  if (first === undefined) return { ok: true, commit: baseCommit };
  let commit = first.commit;
  const merged = [first.taskId];
  // Asked once per task, not once per merge: it reads git config.
  const env = rest.length > 0 ? await identityEnv(repoRoot) : {};
  for (const dep of rest) {
    const result = await runGit(['merge-tree', '--write-tree', '--name-only', commit, dep.commit], { cwd: repoRoot, okExitCodes: [0, 1] });
    const tree = result.stdout.split('\n', 1)[0] ?? '';
    if (result.exitCode === 1) {
      return { ok: false, conflict: { between: [merged.join('+'), dep.taskId], files: conflictedFiles(result.stdout) } };
    }
    commit = await gitOutput(['commit-tree', tree.trim(), '-p', commit, '-p', dep.commit, '-m', `coord: merge ${dep.taskId} for ${taskId}`], { cwd: repoRoot, env });
    merged.push(dep.taskId);
  }
  return { ok: true, commit };
}
