/**
 * Moving a task file through the inbox: claimed from the drop folder, then filed under
 * `accepted/` or `rejected/`.
 *
 * The claim is the exclusion between supervisors sharing one inbox. A rename is atomic: of
 * several supervisors renaming the same file into their own `.claimed/<nodeId>/`, exactly
 * one succeeds and the others get ENOENT, because the name they renamed from is gone. So
 * each file is taken at most once, with no lock file and nothing to clean up after a crash
 * (what a crashed supervisor had claimed waits in its own folder for its next start).
 *
 * Filing never overwrites: the same name may be dropped many times (a script submitting
 * `nightly.yaml` every night), and each copy is kept. A hard link is what makes "put it there
 * unless the name is taken" atomic (`link` fails with EEXIST, `rename` would replace), which
 * matters when two supervisors file two copies of one name at the same moment.
 */
import { link, lstat, mkdir, rename, unlink } from 'node:fs/promises';
import path from 'node:path';

/** Errors of `link` that say the filesystem has no hard links, not that the name is taken. */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

function codeOf(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | null)?.code;
}

/**
 * What a claim came to: the file is now this node's (`claimed`); it is `gone` (another
 * supervisor took it first, or someone removed it: not an error); or this node still holds
 * an earlier file of the same name (`occupied`), which the claim must not replace.
 */
export type ClaimResult = 'claimed' | 'gone' | 'occupied';

/**
 * Takes `dir/name` into `claimedDir/name`.
 *
 * A rename replaces what is at its target, so a leftover of the same name (a file whose
 * submit failed for a reason not its own, kept for a retry) is looked for first. Looking,
 * then renaming, is safe here: only this node writes into its claim folder, one file at a time.
 */
export async function claimFile(dir: string, name: string, claimedDir: string): Promise<ClaimResult> {
  // The folder is made each time (one cheap call): a missing one would make the rename fail
  // with ENOENT too, which would read as "taken by another" and leave the file unhandled.
  await mkdir(claimedDir, { recursive: true });
  const target = path.join(claimedDir, name);
  if (await exists(target)) return 'occupied';
  try {
    await rename(path.join(dir, name), target);
    return 'claimed';
  } catch (error) {
    if (codeOf(error) === 'ENOENT') return 'gone';
    throw error;
  }
}

/** What {@link fileUnder} may need besides the name itself. */
export interface FileUnderOptions {
  /**
   * A companion file the chosen name will get (`.error.json`): a name whose companion is
   * already there is taken too, so writing the companion cannot replace another file.
   */
  companionSuffix?: string;
}

/**
 * Moves `from` into `folder` as `name`, or, when that name is taken, as `<base>.<time><ext>`
 * (then `<base>.<time>-2<ext>`, …), never over an existing file. Resolves with the name given.
 *
 * @example
 * await fileUnder('/inbox/.claimed/n1/tasks.json', '/inbox/accepted', 'tasks.json');
 * // 'tasks.json', or 'tasks.2026-12-02T21-17-00.123Z.json' when a tasks.json was accepted before
 */
export async function fileUnder(from: string, folder: string, name: string, options: FileUnderOptions = {}): Promise<string> {
  await mkdir(folder, { recursive: true });
  const ext = path.extname(name);
  const base = name.slice(0, name.length - ext.length);
  // Colons are not allowed in file names on Windows, nor shown as such by macOS's Finder.
  const stamp = new Date().toISOString().replaceAll(':', '-');
  let hardLinks = true;
  for (let attempt = 0; ; attempt++) {
    const candidate = attempt === 0 ? name : `${base}.${stamp}${attempt === 1 ? '' : `-${attempt}`}${ext}`;
    const target = path.join(folder, candidate);
    if (options.companionSuffix !== undefined && (await exists(`${target}${options.companionSuffix}`))) continue;
    if (hardLinks) {
      try {
        await link(from, target);
        await unlink(from);
        return candidate;
      } catch (error) {
        if (codeOf(error) === 'EEXIST') continue;
        if (!NO_HARD_LINKS.has(codeOf(error) ?? '')) throw error;
        hardLinks = false;
      }
    }
    // No hard links here (some network and FUSE filesystems): look, then rename. Two
    // supervisors filing the same name in the same instant could then collide; one alone cannot.
    if (await exists(target)) continue;
    await rename(from, target);
    return candidate;
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await lstat(file);
    return true;
  } catch (error) {
    if (codeOf(error) === 'ENOENT') return false;
    throw error;
  }
}
