/**
 * What is where in an inbox folder. Users drop task files directly into it; coord keeps its
 * own folders inside it, each named so that no drop can be mistaken for one:
 *
 * - `accepted/`: files whose tasks were submitted, kept as they were dropped;
 * - `rejected/`: files refused, each beside a `<name>.error.json` saying why;
 * - `.claimed/<nodeId>/`: files one supervisor has taken and not yet finished with. A dotted
 *   folder, so it is never read as a drop, and one per node, so that a supervisor sharing the
 *   inbox re-handles only its own leftovers after a crash.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { CoordError } from '../errors.js';

/** The folders of one supervisor's view of an inbox, all absolute. */
export interface InboxLayout {
  /** The watched folder, where files are dropped. */
  dir: string;
  accepted: string;
  rejected: string;
  /** This node's claims. */
  claimed: string;
}

/** Node ids as the supervisor's options allow them, bar `.` and `..`, which would leave `.claimed/`. */
const NODE_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/** The layout of the inbox at `dir` for node `nodeId`; throws `USAGE` for a node id that is not a safe folder name. */
export function inboxLayout(dir: string, nodeId: string): InboxLayout {
  if (!NODE_ID_PATTERN.test(nodeId) || nodeId === '.' || nodeId === '..') {
    throw new CoordError('USAGE', `inbox: ${JSON.stringify(nodeId)} is not a node id (1-64 of A-Z a-z 0-9 . _ -, not "." or "..")`, { details: { nodeId } });
  }
  const root = path.resolve(dir);
  return {
    dir: root,
    accepted: path.join(root, 'accepted'),
    rejected: path.join(root, 'rejected'),
    claimed: path.join(root, '.claimed', nodeId),
  };
}

/**
 * True for a name the inbox reads: `*.json`, `*.yaml` or `*.yml`, not a dotfile. A writer's
 * temporary file (`.tasks.json.tmp`, `tasks.json.tmp`) is therefore passed over until it is
 * renamed to its real name, which is the moment it is complete.
 */
export function isTaskFileName(name: string): boolean {
  return !name.startsWith('.') && /\.(json|ya?ml)$/i.test(name);
}

/**
 * The task files directly in `folder`, oldest modification first (ties by name): the order
 * they most likely arrived in. Subfolders and other names are left out; a missing folder has none.
 */
export async function listTaskFiles(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { withFileTypes: true }).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  });
  const files = await Promise.all(entries
    .filter((entry) => entry.isFile() && isTaskFileName(entry.name))
    // A file taken (by another supervisor) between the listing and its stat is simply not there.
    .map(async (entry) => ({ name: entry.name, mtimeMs: await stat(path.join(folder, entry.name)).then((s) => s.mtimeMs, () => Number.NaN) })));
  return files
    .filter((file) => !Number.isNaN(file.mtimeMs))
    .sort((a, b) => a.mtimeMs - b.mtimeMs || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((file) => file.name);
}
