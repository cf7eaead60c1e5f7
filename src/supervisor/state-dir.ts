/**
 * Preparing the state directory at start: create it (with `logs/tasks`) and prove it can be
 * written, so a read-only mount, a path through a regular file, missing permissions or a
 * full disk are refused at once with a stable code (exit 2), before the log, the store or
 * any worker exists — not discovered later as an INTERNAL error or a crash.
 */
import { access, constants, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CoordError } from '../errors.js';
import { storageFault } from '../store/storage-fault.js';

/**
 * Creates `stateDir` and its `logs/tasks` and writes (then removes) a small probe file.
 * Throws `STATE_DIR_UNWRITABLE` (EROFS, EACCES, EPERM, ENOTDIR, or any other failure) or
 * `DISK_FULL` (ENOSPC, EDQUOT), naming the directory.
 */
export async function prepareStateDir(stateDir: string): Promise<void> {
  try {
    await mkdir(path.join(stateDir, 'logs', 'tasks'), { recursive: true });
    // mkdir succeeds on a full disk and on an existing read-only directory: only a write tells.
    const probe = path.join(stateDir, `.coord-write-probe-${process.pid}`);
    await writeFile(probe, 'coord\n');
    await rm(probe, { force: true });
  } catch (thrown) {
    const error = await underlyingCause(stateDir, thrown);
    throw (
      storageFault(error, { kind: 'state-dir', path: stateDir }) ??
      new CoordError('STATE_DIR_UNWRITABLE', `cannot prepare the state directory ${stateDir}: ${String(error)}`, {
        cause: error,
        details: { path: stateDir },
      })
    );
  }
}

/**
 * A recursive mkdir under a read-only mount reports ENOENT (it retries the parent, then
 * gives up on the child), which says nothing useful. Ask the nearest existing ancestor
 * instead: `access(W_OK)` answers EROFS on a read-only file system, even for root.
 */
async function underlyingCause(dir: string, error: unknown): Promise<unknown> {
  if ((error as { code?: unknown }).code !== 'ENOENT') return error;
  for (let ancestor = dir; ; ancestor = path.dirname(ancestor)) {
    const found = await stat(ancestor).then(() => true, () => false);
    if (found) return access(ancestor, constants.W_OK).then(() => error, (cause: unknown) => cause);
    if (path.dirname(ancestor) === ancestor) return error;
  }
}
