/**
 * A running task's uncommitted work as a commit, taken without touching its worktree: git
 * stages the worktree's files into a temporary index of ours (`GIT_INDEX_FILE`), never the
 * worktree's own, and the commit is written with a fixed identity and date, so the same
 * files on the same head always give the same commit id. That is what lets the conflict
 * watcher recognise an unchanged worktree by its snapshot's id alone.
 */
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { CoordError } from '../errors.js';
import { gitOutput, runGit } from '../git/run-git.js';

/** The fixed identity and date of snapshot commits (what makes their ids depend on content alone). */
const SNAPSHOT_ENV = {
  GIT_AUTHOR_NAME: 'coord',
  GIT_AUTHOR_EMAIL: 'coord@localhost',
  GIT_AUTHOR_DATE: '1970-01-01T00:00:00Z',
  GIT_COMMITTER_NAME: 'coord',
  GIT_COMMITTER_EMAIL: 'coord@localhost',
  GIT_COMMITTER_DATE: '1970-01-01T00:00:00Z',
} as const;

export const SNAPSHOT_MESSAGE = 'coord: snapshot';

/** Trees of commits named by full id (a commit's tree never changes), so a steady snapshot spares a `rev-parse`. */
const treeOfCommit = new Map<string, string>();
const FULL_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** `head`'s full commit id and its tree id. */
async function resolveHead(worktree: string, head: string): Promise<{ commit: string; tree: string }> {
  const known = FULL_ID.test(head) ? treeOfCommit.get(head) : undefined;
  if (known !== undefined) return { commit: head, tree: known };
  const [commit, tree] = (await gitOutput(['rev-parse', `${head}^{commit}`, `${head}^{tree}`], { cwd: worktree })).split('\n');
  if (commit === undefined || tree === undefined || !FULL_ID.test(commit)) {
    throw new CoordError('GIT_FAILED', `cannot resolve ${head} in ${worktree}`, { details: { worktree, head } });
  }
  if (treeOfCommit.size >= 1_024) treeOfCommit.clear();
  treeOfCommit.set(commit, tree);
  return { commit, tree };
}

/**
 * A commit holding `worktree`'s current files (tracked changes and untracked, non-ignored
 * files) on top of `head`, made without touching the worktree's index or files; the same
 * content gives the same commit id. When the files are `head`'s, `head`'s own commit id is
 * returned (resolved to its full id).
 *
 * `indexFile` (an absolute path outside the worktree; its folder is created) is ours to
 * overwrite. Passing the same one again for the same worktree is faster: the stat data left
 * in it by the previous snapshot spares git re-reading unchanged files (`read-tree -m`). An
 * unreadable one is discarded and rebuilt.
 */
export async function snapshotWorktree(worktree: string, head: string, indexFile: string): Promise<string> {
  if (!path.isAbsolute(indexFile)) {
    throw new CoordError('INTERNAL', `snapshot index file must be an absolute path: ${indexFile}`, { details: { indexFile } });
  }
  const env = { GIT_INDEX_FILE: indexFile };
  await mkdir(path.dirname(indexFile), { recursive: true });
  const { commit, tree } = await resolveHead(worktree, head);
  try {
    // -m keeps the stat data of entries whose content matches `head` (the index is still exactly `head`'s tree).
    await runGit(['read-tree', '-m', commit], { cwd: worktree, env });
  } catch {
    await rm(indexFile, { force: true });
    await rm(`${indexFile}.lock`, { force: true });
    await runGit(['read-tree', commit], { cwd: worktree, env });
  }
  await runGit(['add', '--all'], { cwd: worktree, env });
  const snapshotTree = await gitOutput(['write-tree'], { cwd: worktree, env });
  if (snapshotTree === tree) return commit;
  return gitOutput(['commit-tree', snapshotTree, '-p', commit, '-m', SNAPSHOT_MESSAGE], { cwd: worktree, env: SNAPSHOT_ENV });
}
