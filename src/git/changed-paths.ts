/**
 * The paths that differ between two commits, with their modes, from one `git diff --raw`.
 * The modes matter to callers that must notice a changed symlink or submodule pointer, whose
 * path alone says nothing about what it leads to.
 */
import { runGit } from './run-git.js';

/** One path that differs between two commits. */
export interface ChangedPath {
  /** Relative to the repository root, `/`-separated, unquoted. */
  path: string;
  /** Git's octal mode before and after (`100644`, `100755`, `120000` symlink, `160000` submodule; `000000` absent). */
  oldMode: string;
  newMode: string;
}

/**
 * Every path whose content or mode differs between commits `from` and `to`, renames shown as
 * a deletion and an addition, submodule pointers included whatever the repository's
 * `diff.ignoreSubmodules` says. Rejects (a `CoordError` from git, or an `Error` for output it
 * cannot read) when either commit is unknown or git fails.
 *
 * @example
 * await changedPaths('/repo/wt', 'c0ffee…', 'deadbe…') // [{ path: 'notes.txt', oldMode: '100644', newMode: '100644' }]
 */
export async function changedPaths(cwd: string, from: string, to: string): Promise<ChangedPath[]> {
  const { stdout } = await runGit(
    ['diff', '--raw', '-z', '--no-abbrev', '--no-renames', '--ignore-submodules=none', '--no-relative', '--no-ext-diff', '--no-textconv',
      '--end-of-options', from, to, '--'],
    { cwd },
  );
  return parseRawZ(stdout);
}

/**
 * Reads `git diff --raw -z --no-renames` output: for each path a `:oldMode newMode oldId newId
 * status` field and the path, each ended by NUL.
 *
 * @example
 * parseRawZ(':100644 100644 1a2b 3c4d M\0notes.txt\0') // [{ path: 'notes.txt', oldMode: '100644', newMode: '100644' }]
 */
export function parseRawZ(output: string): ChangedPath[] {
  const fields = output.split('\0');
  if (fields.at(-1) === '') fields.pop();
  if (fields.length % 2 !== 0) throw new Error(`unexpected git diff --raw output: ${fields.length} fields`);
  const changed: ChangedPath[] = [];
  for (let i = 0; i < fields.length; i += 2) {
    const entry = fields[i] ?? '';
    const meta = /^:([0-7]{6}) ([0-7]{6}) [0-9a-f]+(?:\.\.\.)? [0-9a-f]+(?:\.\.\.)? [A-Z][0-9]*$/.exec(entry);
    if (meta === null) throw new Error(`unexpected git diff --raw entry: ${JSON.stringify(entry)}`);
    changed.push({ path: fields[i + 1] ?? '', oldMode: meta[1] ?? '', newMode: meta[2] ?? '' });
  }
  return changed;
}
