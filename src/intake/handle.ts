/**
 * Handling one task file of the inbox, from the drop folder to `accepted/` or `rejected/`.
 *
 * A dropped file is read twice. The first read, in the drop folder, only decides whether it
 * is ready: a file written in place slowly is seen part-written (the fs events come with the
 * first bytes), and part of a task file does not parse. Such a file is waited on while its
 * last modification is recent, and claimed only once it parses or has stopped changing.
 * Claiming is what must not happen early: a writer that still has the file open goes on
 * writing into the claimed copy, since a rename keeps the inode.
 *
 * The second read, of the claimed copy, is what is submitted: between the first read and
 * the claim the file may have been replaced, and only what this supervisor holds counts.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { CoordError } from '../errors.js';
import { jsonFile, writeFileAtomic } from '../files/atomic-write.js';
import type { Logger } from '../log/logger.js';
import { parseTaskFileText } from '../tasks/load.js';
import type { TaskSpec } from '../tasks/spec.js';
import { claimFile, fileUnder } from './claim.js';
import type { InboxLayout } from './layout.js';
import { inboxErrorOf, rejectionFor, type InboxError } from './rejection.js';

/** Beside `rejected/<name>`: why. */
export const ERROR_FILE_SUFFIX = '.error.json';

/** What handling a file needs from the inbox around it. */
export interface FileHandlerDeps {
  layout: InboxLayout;
  submit(tasks: TaskSpec[], file: string): Promise<string[]>;
  logger: Logger;
  /** How long after its last modification a file that does not parse is waited on. */
  settleMs: number;
  /** True once the inbox is closing: nothing more is claimed. */
  isClosed(): boolean;
  accepted(entry: { file: string; ids: string[] }): void;
  rejected(entry: { file: string; error: InboxError }): void;
}

/** What became of a dropped file: handled (or gone), or to be looked at again in `ms`. */
export type DroppedOutcome = { kind: 'done' } | { kind: 'wait'; ms: number };

const DONE: DroppedOutcome = { kind: 'done' };

/**
 * Handles `name` in the drop folder. `settled` says its settle wait has already run out with
 * no fs event since, so a file that still does not parse is rejected whatever its mtime says
 * (an mtime in the future, from a clock ahead of this one, would otherwise be waited on forever).
 */
export async function handleDropped(deps: FileHandlerDeps, name: string, settled: boolean): Promise<DroppedOutcome> {
  const { layout, logger, settleMs } = deps;
  const file = path.join(layout.dir, name);
  try {
    if ((await readSpecs(file, name)) === null) return gone(deps, name);
  } catch (error) {
    // The mtime is taken after the read, so it is at least as new as what was read.
    const stats = await stat(file).catch(() => null);
    if (stats === null) return gone(deps, name);
    if (!stats.isFile()) return DONE;
    const age = Date.now() - stats.mtimeMs;
    if (!settled && age < settleMs) {
      logger.debug({ file: name, code: (error as { code?: unknown }).code }, 'inbox: the task file does not parse yet; waiting for it to settle');
      return { kind: 'wait', ms: Math.min(Math.max(settleMs - age, 1), settleMs) };
    }
  }
  if (deps.isClosed()) return DONE;
  let claim = await claimFile(layout.dir, name, layout.claimed);
  if (claim === 'occupied') {
    // An earlier file of this name waits in the claim folder for a retry: this is one.
    await handleClaimed(deps, name);
    claim = await claimFile(layout.dir, name, layout.claimed);
  }
  if (claim === 'gone') return gone(deps, name);
  if (claim === 'occupied') {
    // Still not submittable: the new file stays in the drop folder, where a supervisor that
    // can submit may take it, and this one looks again at its next event or start.
    logger.warn({ file: name }, 'inbox: an earlier file of this name is still claimed here (its submit keeps failing); this one is left in the inbox');
    return DONE;
  }
  await handleClaimed(deps, name);
  return DONE;
}

/**
 * Submits the claimed file `name` and files it under `accepted/` or `rejected/`; a failure
 * that is not the file's fault leaves it claimed, for this node's next start.
 */
export async function handleClaimed(deps: FileHandlerDeps, name: string): Promise<void> {
  const { layout, logger } = deps;
  const file = path.join(layout.claimed, name);
  let specs: TaskSpec[] | null;
  try {
    specs = await readSpecs(file, name);
  } catch (error) {
    await reject(deps, name, error);
    return;
  }
  if (specs === null) {
    logger.warn({ file: name }, 'inbox: a claimed task file was removed before it was submitted');
    return;
  }
  let ids: string[];
  try {
    ids = await deps.submit(specs, name);
  } catch (error) {
    const refusal = rejectionFor(error);
    if (refusal === null) {
      logger.warn({ file: name, err: error }, 'inbox: the task file could not be submitted (not its fault); it stays claimed and is tried again at the next start');
      return;
    }
    await reject(deps, name, refusal);
    return;
  }
  const filedAs = await fileUnder(file, layout.accepted, name);
  logger.info({ file: name, ids, filedAs }, `inbox: accepted ${name}`);
  deps.accepted({ file: name, ids });
}

/**
 * Files the claimed `name` under `rejected/` and writes why beside it. The task file goes
 * first, so the error file's name is the one the file got; a crash between the two leaves
 * a rejected file without its reason, never a reason without its file.
 */
async function reject(deps: FileHandlerDeps, name: string, error: unknown): Promise<void> {
  const { layout, logger } = deps;
  const entry = inboxErrorOf(error, name);
  const filedAs = await fileUnder(path.join(layout.claimed, name), layout.rejected, name, { companionSuffix: ERROR_FILE_SUFFIX });
  await writeFileAtomic(path.join(layout.rejected, `${filedAs}${ERROR_FILE_SUFFIX}`), jsonFile(entry));
  logger.warn({ file: name, code: entry.code, line: entry.line, column: entry.column, filedAs }, `inbox: rejected ${name}: ${entry.message}`);
  deps.rejected({ file: name, error: entry });
}

function gone(deps: FileHandlerDeps, name: string): DroppedOutcome {
  deps.logger.debug({ file: name }, 'inbox: the task file is gone (taken by another supervisor, or removed)');
  return DONE;
}

/** The file's tasks; null when it is missing. Throws a CoordError when it cannot be read or does not validate. */
async function readSpecs(file: string, name: string): Promise<TaskSpec[] | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return null;
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new CoordError('TASK_FILE_UNREADABLE', `${name}: cannot read the task file: ${reason}`, { cause, details: { file: name } });
  }
  return parseTaskFileText(text, name);
}
