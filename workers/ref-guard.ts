/**
 * A task may move nothing but its own branch. Worktrees share the repository's refs, so a
 * task that runs `git checkout --ignore-other-worktrees main` and commits, or
 * `git branch -f main HEAD`, moves the user's branches (and the user's checkout with them).
 * The guard records every branch and tag outside `refs/heads/coord/` before the attempt and
 * compares after it.
 *
 * A ref that moved is charged to the task only when the task provably did it: the worktree's
 * own HEAD reflog (per worktree, written by every commit, checkout and reset made there)
 * shows that HEAD held the ref's new commit, or had the ref checked out, during the attempt.
 * A user committing on `main` in their own checkout meanwhile is not the task's doing and is
 * left alone. A charged ref is put back with a compare-and-swap (`update-ref <ref> <before> <now>`),
 * so a ref someone else moved again since is never overwritten.
 */
import { statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { readRefFiles } from '../src/git/ref-files.js';
import { gitOutput, runGit } from '../src/git/run-git.js';

/** Refs as `refname → commit`. */
export type RefMap = ReadonlyMap<string, string>;

/** A ref the task moved, and whether coord put it back. */
export interface MovedRef {
  ref: string;
  from: string;
  /** Null when the task deleted it. */
  to: string | null;
  restored: boolean;
}

const GUARDED = ['refs/heads/', 'refs/tags/'];
const OWN = ['refs/heads/coord/'];

/**
 * Branches and tags outside `refs/heads/coord/`: read from the ref files when `commonDir`
 * (the repository's common git directory) is given and they are plain, else from git.
 */
export async function snapshotRefs(cwd: string, commonDir: string | null = null): Promise<RefMap> {
  const fromFiles = commonDir === null ? null : await readRefFiles(commonDir, GUARDED, OWN);
  return fromFiles ?? gitRefs(cwd);
}

/** {@link snapshotRefs} as git itself lists them. */
async function gitRefs(cwd: string): Promise<RefMap> {
  const out = await gitOutput(['for-each-ref', '--format=%(objectname) %(refname)', 'refs/heads/', 'refs/tags/'], { cwd });
  const refs = new Map<string, string>();
  for (const line of out.split('\n')) {
    const space = line.indexOf(' ');
    if (space < 0) continue;
    const ref = line.slice(space + 1);
    if (!ref.startsWith('refs/heads/coord/')) refs.set(ref, line.slice(0, space));
  }
  return refs;
}

/** Where HEAD's reflog of the worktree ends now (its size), to read only what follows. */
export async function reflogMark(gitDir: string): Promise<number> {
  try {
    return statSync(path.join(gitDir, 'logs', 'HEAD')).size; // a stat of microseconds, not a trip through the thread pool
  } catch {
    return 0;
  }
}

/** What the worktree's HEAD did since `mark`: the commits it held and the branches it had checked out. */
export interface HeadActivity {
  commits: Set<string>;
  branches: Set<string>;
}

/** Parses reflog lines (`<old> <new> <who> <when>\t<message>`). Pure. */
export function parseHeadActivity(text: string): HeadActivity {
  const activity: HeadActivity = { commits: new Set(), branches: new Set() };
  for (const line of text.split('\n')) {
    const [head = '', message = ''] = line.split('\t');
    const [, to] = head.split(' ');
    if (to !== undefined && /^[0-9a-f]{40,64}$/.test(to)) activity.commits.add(to);
    const checkout = /^checkout: moving from (\S+) to (\S+)$/.exec(message);
    if (checkout) for (const name of [checkout[1], checkout[2]]) if (name !== undefined) activity.branches.add(`refs/heads/${name}`);
  }
  return activity;
}

async function readHeadActivity(gitDir: string, mark: number): Promise<HeadActivity> {
  const file = await open(path.join(gitDir, 'logs', 'HEAD'), 'r').catch(() => null);
  if (file === null) return parseHeadActivity('');
  try {
    const { size } = await file.stat();
    const buffer = Buffer.alloc(Math.max(0, size - mark));
    await file.read(buffer, 0, buffer.length, mark);
    return parseHeadActivity(buffer.toString('utf8'));
  } finally {
    await file.close();
  }
}

/**
 * The refs in `before` that the task moved or deleted (judged by the worktree's HEAD
 * activity since `mark`, plus `headBranch`, the branch HEAD is on now), each put back when
 * nobody moved it again. A change seen in the ref files is confirmed by git before anything
 * is charged or put back.
 */
export async function guardRefs(cwd: string, gitDir: string, before: RefMap, mark: number, headBranch: string | null, commonDir: string | null = null): Promise<MovedRef[]> {
  const changedIn = (after: RefMap): Array<[string, string]> => [...before].filter(([ref, commit]) => after.get(ref) !== commit);
  let after = await snapshotRefs(cwd, commonDir);
  if (changedIn(after).length === 0) return [];
  if (commonDir !== null) after = await gitRefs(cwd);
  const changed = changedIn(after);
  if (changed.length === 0) return [];
  const activity = await readHeadActivity(gitDir, mark);
  if (headBranch !== null) activity.branches.add(`refs/heads/${headBranch}`);
  const moved: MovedRef[] = [];
  for (const [ref, from] of changed) {
    const to = after.get(ref) ?? null;
    const byTask = activity.branches.has(ref) || (to !== null && activity.commits.has(to));
    if (!byTask) continue;
    // Compare-and-swap: only if the ref is still where the task left it.
    const restore = to === null ? ['update-ref', ref, from, ''] : ['update-ref', ref, from, to];
    const restored = (await runGit(restore, { cwd, okExitCodes: [0, 1, 128] })).exitCode === 0;
    moved.push({ ref, from, to, restored });
  }
  return moved;
}

/** One line for the failure message: `refs/heads/main (a1b2c3d → d4e5f6a, restored)`. */
export function describeMoved(moved: readonly MovedRef[]): string {
  const short = (sha: string | null): string => (sha === null ? 'deleted' : sha.slice(0, 7));
  return moved.map((m) => `${m.ref} (${short(m.from)} → ${short(m.to)}, ${m.restored ? 'restored' : 'NOT restored: it moved again since'})`).join(', ');
}
