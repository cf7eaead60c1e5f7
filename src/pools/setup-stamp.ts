/**
 * The stamp a pool's setup leaves in a worker's worktree once it succeeded: the commands that
 * ran and the lock files they ran against. Setup (an `npm ci`, a `uv sync`) is slow, so it
 * runs again only when one of those two changed, or when the stamp is gone.
 *
 * The stamp lives in the worktree's own private git directory (`.git/worktrees/<name>` of the
 * main checkout, which the worktree's `.git` file points at), not in the working tree: it is
 * then never a file a task could commit or delete, and a worktree rebuilt from scratch
 * (`git worktree remove` + `add`, which is what coord does to a broken one) gets a new
 * private directory without it — its freshly checked-out files need the setup again.
 */
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { jsonFile, writeFileAtomic } from '../files/atomic-write.js';
import { gitOutput } from '../git/run-git.js';

/** Lock files whose change means the dependencies a setup installs changed, looked for at the repository's root. */
export const LOCK_FILES = [
  'package-lock.json', 'npm-shrinkwrap.json', 'yarn.lock', 'pnpm-lock.yaml', 'bun.lockb', 'bun.lock',
  'Cargo.lock', 'poetry.lock', 'uv.lock', 'Pipfile.lock', 'Gemfile.lock', 'go.sum', 'composer.lock',
] as const;

/** Lock file name → its blob id at the base commit; only the lock files that exist there. */
export type LockfileIds = Record<string, string>;

const SetupStampSchema = z.object({
  commands: z.array(z.array(z.string())),
  lockfiles: z.record(z.string(), z.string()),
  at: z.string(),
});

/** What a successful setup recorded. */
export type SetupStamp = z.infer<typeof SetupStampSchema>;

/** The stamp's file name inside the worktree's private git directory. */
const STAMP_NAME = 'coord-setup.json';

/**
 * The blob ids of the {@link LOCK_FILES} at the root of `commit`, read with one `git ls-tree`
 * in the main checkout: the ids change exactly when the contents do, and no file is read.
 */
export async function lockfileIds(repoRoot: string, commit: string): Promise<LockfileIds> {
  const out = await gitOutput(['ls-tree', '-z', commit, '--', ...LOCK_FILES], { cwd: repoRoot });
  const ids: LockfileIds = {};
  // `<mode> blob <id>\t<name>`, NUL-terminated; names come back in tree order.
  for (const line of out.split('\0')) {
    const match = /^\d+ blob ([0-9a-f]+)\t(.+)$/.exec(line);
    if (match?.[1] !== undefined && match[2] !== undefined) ids[match[2]] = match[1];
  }
  return ids;
}

/** Where `worktree`'s stamp lives: `coord-setup.json` in the git directory `git rev-parse --git-dir` names there. */
export async function stampFileOf(worktree: string): Promise<string> {
  return path.join(path.resolve(worktree, await gitOutput(['rev-parse', '--git-dir'], { cwd: worktree })), STAMP_NAME);
}

/** The stamp in `file`, or null when there is none (or it is not one coord wrote: it is then as good as none). */
export async function readStamp(file: string): Promise<SetupStamp | null> {
  const text = await readFile(file, 'utf8').catch(() => null);
  if (text === null) return null;
  try {
    const parsed = SetupStampSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** Records a successful setup. */
export async function writeStamp(file: string, stamp: SetupStamp): Promise<void> {
  await writeFileAtomic(file, jsonFile(stamp));
}

/** Forgets the last setup, so that the next start runs it again. */
export async function removeStamp(file: string): Promise<void> {
  await rm(file, { force: true });
}

/** Why a setup must run, or null when the stamp still holds. */
export type SetupReason = 'first' | 'commands-changed' | 'lockfile-changed' | 'worktree-rebuilt';

/**
 * Compares the stamp with what the setup would run now. Without a stamp the setup runs:
 * `worktree-rebuilt` when this worker's setup had completed before (`completedBefore`: its
 * last log says so, and only a new private git directory loses the stamp after that),
 * `first` otherwise.
 */
export function setupReason(stamp: SetupStamp | null, commands: readonly string[][], lockfiles: LockfileIds, completedBefore: boolean): SetupReason | null {
  if (stamp === null) return completedBefore ? 'worktree-rebuilt' : 'first';
  if (JSON.stringify(stamp.commands) !== JSON.stringify(commands)) return 'commands-changed';
  if (!sameIds(stamp.lockfiles, lockfiles)) return 'lockfile-changed';
  return null;
}

function sameIds(a: LockfileIds, b: LockfileIds): boolean {
  const names = Object.keys(a);
  return names.length === Object.keys(b).length && names.every((name) => a[name] === b[name]);
}
