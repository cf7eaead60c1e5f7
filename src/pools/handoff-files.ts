/**
 * The handoff folder (`<state-dir>/handoff/`): capacity announced by files. Each file
 * `<workerId>.json` says that a worker of a pool exists, whether it is ready, and which
 * process it is. coord writes one for each of its own workers, for scripts and dashboards to
 * read; an external provisioner (a script that started agents on its own) writes its own to
 * announce the capacity it started, and coord counts it toward the pool.
 *
 * The folder is watched, not polled: chokidar hears a file appear, change or go within
 * milliseconds, and an idle folder costs nothing. What a file says is believed only while
 * its process lives: the pids of local entries are checked on a timer that runs only while
 * there is such an entry, so a provisioner that died without cleaning up stops counting.
 * A file that does not parse counts for nothing and is left where it is (it is someone
 * else's), with one warning per content so that a typo is heard once, not every second.
 */
import { mkdirSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { watch } from 'chokidar';
import { z } from 'zod';
import { jsonFile, writeFileAtomic } from '../files/atomic-write.js';
import type { Logger } from '../log/logger.js';

/**
 * One handoff file. Loose (`z.object`): keys this version does not know are allowed and
 * dropped, so a newer provisioner's file still counts here.
 */
export const HandoffFileSchema = z.object({
  /** The file's own name without `.json`: a name safe in a path, not starting with a dot. */
  workerId: z.string().regex(/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/, 'a name of letters, digits, ".", "_" and "-", not starting with "."'),
  pool: z.string().min(1),
  ready: z.boolean(),
  pid: z.number().int().positive(),
  /** The worker's worktree; null or absent for external workers that have none coord knows. */
  worktree: z.string().nullable().optional(),
  at: z.iso.datetime({ offset: true }),
  /** Delete the file once coord has read it: the entry counts on until its pid dies. */
  remove: z.boolean().optional(),
  /** The host the pid lives on; absent means this one. A pid on another host is never checked. */
  host: z.string().min(1).optional(),
});

/** What a handoff file holds. */
export type HandoffFile = z.infer<typeof HandoffFileSchema>;

/** An external worker as the watch knows it. */
export interface HandoffEntry extends HandoffFile {
  /** The file it was read from (it may be gone: see `remove`). */
  file: string;
  /** False once its pid is known dead. */
  alive: boolean;
}

export interface HandoffWatchOptions {
  dir: string;
  /** True for a workerId that is one of this supervisor's own (their files are coord's, not external). */
  own(workerId: string): boolean;
  /** Delete every external file once processed, whatever its `remove` says. */
  removeProcessed: boolean;
  /** The external entries changed (added, updated, gone, pid died): the full current set. */
  onChange(entries: ReadonlyMap<string, HandoffEntry>): void;
  logger: Logger;
  /** How often the pids of live external entries are checked; default 1000 ms. Only while there are entries to check. */
  pidCheckMs?: number;
}

export interface HandoffWatch {
  /** Resolves once the files already there are read (one `onChange` then, if there were any) and later changes are heard. */
  ready: Promise<void>;
  /** The current external entries, by workerId. */
  entries(): ReadonlyMap<string, HandoffEntry>;
  /** Stops the watch and the pid checks; no `onChange` after it resolves. */
  close(): Promise<void>;
}

/** The handoff folder of a state directory. */
export function handoffDirOf(stateDir: string): string {
  return path.join(stateDir, 'handoff');
}

/** The file of `workerId` in `dir`. */
function handoffPath(dir: string, workerId: string): string {
  return path.join(dir, `${workerId}.json`);
}

/** Writes coord's own handoff file for a worker (atomically: a watcher never reads half of it). */
export async function writeHandoff(dir: string, file: HandoffFile): Promise<void> {
  const valid = HandoffFileSchema.parse(file);
  await writeFileAtomic(handoffPath(dir, valid.workerId), jsonFile(valid));
}

/** Removes coord's own handoff file for a worker (gone already is fine). */
export async function removeHandoff(dir: string, workerId: string): Promise<void> {
  await rm(handoffPath(dir, workerId), { force: true });
}

/** An entry and whether its file was deleted by this watch (`remove`): then only its pid ends it. */
interface Tracked {
  entry: HandoffEntry;
  removedByUs: boolean;
}

/**
 * Watches the handoff folder `options.dir` (created when missing) for external workers.
 *
 * @example
 * const handoffs = watchHandoffs({
 *   dir: handoffDirOf(stateDir), own: (id) => registry.has(id), removeProcessed: false, logger,
 *   onChange: (entries) => pools.setExternal([...entries.values()].filter((entry) => entry.alive && entry.ready)),
 * });
 * await handoffs.ready;
 */
export function watchHandoffs(options: HandoffWatchOptions): HandoffWatch {
  const dir = path.resolve(options.dir);
  const pidCheckMs = options.pidCheckMs ?? 1_000;
  const log = options.logger.child({ handoffDir: dir });
  const tracked = new Map<string, Tracked>();
  /** The latest event per file: a read that finishes after a newer event for its file is stale and dropped. */
  const latest = new Map<string, number>();
  /** The content last warned about, per file. */
  const warned = new Map<string, string>();
  const pending = new Set<Promise<void>>();
  let events = 0;
  let initialScan = true;
  let closed = false;
  let pidTimer: NodeJS.Timeout | undefined;

  mkdirSync(dir, { recursive: true });
  const watcher = watch(dir, {
    depth: 0,
    // Existing files come as `add` events before `ready`.
    ignoreInitial: false,
    // Atomic writes' temporary files (`.name.pid.n.tmp`) and anything that is not a handoff file.
    ignored: (entry) => entry !== dir && !isHandoffName(path.basename(entry)),
  });

  const snapshot = (): Map<string, HandoffEntry> => new Map([...tracked].map(([id, { entry }]) => [id, entry]));
  const changed = (): void => {
    syncPidTimer();
    if (!initialScan && !closed) options.onChange(snapshot());
  };

  const forget = (workerId: string, file: string): void => {
    const current = tracked.get(workerId);
    if (current === undefined || current.entry.file !== file || current.removedByUs) return;
    tracked.delete(workerId);
    changed();
  };

  const read = async (file: string, event: number): Promise<void> => {
    const workerId = path.basename(file, '.json');
    const text = await readFile(file, 'utf8').catch((error: unknown) => {
      // Gone between the event and the read: its `unlink` follows.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') log.warn({ err: error, file }, 'cannot read a handoff file');
      return null;
    });
    if (closed || latest.get(file) !== event || text === null) return;
    const parsed = parseHandoff(text, workerId);
    if (!parsed.ok) {
      if (warned.get(file) !== text) log.warn({ file, problem: parsed.problem }, 'ignoring a handoff file that is not valid');
      warned.set(file, text);
      forget(workerId, file);
      return;
    }
    warned.delete(file);
    const entry: HandoffEntry = { ...parsed.file, file, alive: !checksPid(parsed.file.host) || pidAlive(parsed.file.pid) };
    const remove = options.removeProcessed || parsed.file.remove === true;
    const before = tracked.get(workerId);
    tracked.set(workerId, { entry, removedByUs: remove });
    if (remove) {
      // Marked before the delete: its `unlink` must not take the entry away.
      await rm(file, { force: true }).catch((error: unknown) => log.warn({ err: error, file }, 'cannot remove a processed handoff file'));
    }
    if (before === undefined || JSON.stringify(before.entry) !== JSON.stringify(entry)) changed();
    else syncPidTimer();
  };

  const onFileEvent = (kind: string, file: string): void => {
    if (closed || path.dirname(file) !== dir || !isHandoffName(path.basename(file))) return;
    const workerId = path.basename(file, '.json');
    if (options.own(workerId)) return;
    events += 1;
    latest.set(file, events);
    if (kind === 'unlink') {
      warned.delete(file);
      forget(workerId, file);
      return;
    }
    if (kind !== 'add' && kind !== 'change') return;
    const reading = read(file, events).catch((error: unknown) => log.warn({ err: error, file }, 'handoff file'));
    pending.add(reading);
    void reading.finally(() => pending.delete(reading));
  };

  /** One pass over the entries whose pid can be checked here; a dead one is marked, or dropped when its file is gone. */
  const checkPids = (): void => {
    let anyDied = false;
    for (const [workerId, current] of tracked) {
      if (!current.entry.alive || !checksPid(current.entry.host) || pidAlive(current.entry.pid)) continue;
      anyDied = true;
      // Nothing on disk stands for a removed entry any more: dead, it is simply gone.
      if (current.removedByUs) tracked.delete(workerId);
      else tracked.set(workerId, { ...current, entry: { ...current.entry, alive: false } });
    }
    if (anyDied) changed();
  };

  /** The timer runs while some entry's pid can be checked, and only then. */
  function syncPidTimer(): void {
    const needed = !closed && [...tracked.values()].some(({ entry }) => entry.alive && checksPid(entry.host));
    if (needed && pidTimer === undefined) {
      pidTimer = setInterval(checkPids, pidCheckMs);
      pidTimer.unref();
    } else if (!needed && pidTimer !== undefined) {
      clearInterval(pidTimer);
      pidTimer = undefined;
    }
  }

  watcher.on('all', onFileEvent);
  watcher.on('error', (error) => {
    if (!closed) log.warn({ err: error }, 'watching the handoff folder');
  });
  const ready = new Promise<void>((resolve) => {
    watcher.once('ready', () => {
      // The first reads may still be under way: the set is complete once they are done.
      void Promise.all(pending).then(() => {
        initialScan = false;
        if (!closed && tracked.size > 0) changed();
        resolve();
      });
    });
  });

  return {
    ready,
    entries: snapshot,
    async close() {
      closed = true;
      syncPidTimer();
      await watcher.close();
    },
  };
}

/** `<name>.json`, not a dotfile (temporary files of atomic writes start with a dot and end in `.tmp`). */
function isHandoffName(name: string): boolean {
  return name.endsWith('.json') && !name.startsWith('.');
}

/** The file's content, validated, and its workerId the file's name: two files can never claim one worker. */
function parseHandoff(text: string, workerId: string): { ok: true; file: HandoffFile } | { ok: false; problem: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return { ok: false, problem: `not JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
  const parsed = HandoffFileSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, problem: z.prettifyError(parsed.error) };
  if (parsed.data.workerId !== workerId) return { ok: false, problem: `workerId "${parsed.data.workerId}" is not the file's name "${workerId}"` };
  return { ok: true, file: parsed.data };
}

/** A pid is checked only on the host it lives on. */
function checksPid(host: string | undefined): boolean {
  return host === undefined || host === os.hostname();
}

/**
 * Whether `pid` exists: signal 0 checks without sending. EPERM is a live process of another
 * user; only ESRCH says it is gone. (A zombie still answers: its parent has not reaped it,
 * and the provisioner that owns it is what should.)
 */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}
