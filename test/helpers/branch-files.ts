/**
 * What a task's branch holds: the files that differ between the base commit and the
 * branch's tip, for checking that a task's work is exactly its own.
 */
import { execFileSync } from 'node:child_process';

/** Paths changed between `base` and `commit` (added, modified or deleted), sorted. */
export function filesChangedSince(repo: string, base: string, commit: string): string[] {
  const out = execFileSync('git', ['diff', '--name-only', '--no-renames', base, commit], { cwd: repo, encoding: 'utf8' });
  return out.split('\n').filter((line) => line !== '').sort();
}

/** The commit a ref points at, or null when it does not exist. */
export function refCommit(repo: string, ref: string): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { cwd: repo, encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}
