/**
 * The file-drop inbox: a folder the supervisor watches, where a task file dropped in is
 * submitted, then filed under `accepted/` or `rejected/` (with a `.error.json` saying why).
 * Scripts and other programs feed coord by writing a file, with no client library and no
 * connection to keep.
 *
 * Files are heard by fs events (chokidar on the folder, no polling), so an idle inbox costs
 * nothing: no timer is armed unless a file is waiting. A file is read once it has been quiet
 * for `quietMs`; what happens to it then is in ./handle.ts, the claim that lets several
 * supervisors share one inbox in ./claim.ts.
 *
 * Files are handled one at a time, in the order they became quiet. One at a time is what
 * keeps submits in arrival order (a later file may name tasks of an earlier one as
 * dependencies) and what lets `close()` wait for the file in hand and nothing else.
 *
 * At start, before anything new: first this node's own leftovers in `.claimed/<nodeId>/`
 * (it stopped between a claim and filing the file; submitting identical specs again is a
 * no-op), then every file already in the folder (dropped while no supervisor was watching).
 * The watch is in place before the folder is listed, so a file dropped meanwhile is heard
 * or listed, and if both, handled once.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { Logger } from '../log/logger.js';
import type { TaskSpec } from '../tasks/spec.js';
import { handleClaimed, handleDropped, type FileHandlerDeps } from './handle.js';
import { inboxLayout, isTaskFileName, listTaskFiles } from './layout.js';
import type { InboxError } from './rejection.js';

export type { InboxError } from './rejection.js';

/** What {@link watchInbox} watches and whom it tells. */
export interface InboxOptions {
  /** The watched folder; created when missing, with accepted/ and rejected/ inside. */
  dir: string;
  /** This supervisor's node id: its claims go to `<dir>/.claimed/<nodeId>/`. */
  nodeId: string;
  /** Submits a file's tasks all or nothing (throws a CoordError when refused); resolves with the ids added. */
  submit(tasks: TaskSpec[], file: string): Promise<string[]>;
  logger: Logger;
  /** A file must have been quiet (no fs event) this long before it is read; default 50 ms. */
  quietMs?: number;
  /** A file that does not parse and was modified less than this long ago is waited on rather than rejected; default 1000 ms. */
  settleMs?: number;
  /** Called after a file was accepted (moved to accepted/). */
  onAccepted?(entry: { file: string; ids: string[] }): void;
  /** Called after a file was rejected (moved to rejected/ with its .error.json). */
  onRejected?(entry: { file: string; error: InboxError }): void;
}

/** A running inbox. */
export interface Inbox {
  /** Resolves once the watch is in place and what was already in the folder has been looked at. */
  ready: Promise<void>;
  /** Files handled so far: accepted, rejected. */
  counts(): { accepted: number; rejected: number };
  /** Stops watching; resolves once no file is being handled. No callback after it resolves. */
  close(): Promise<void>;
}

const DEFAULT_QUIET_MS = 50;
const DEFAULT_SETTLE_MS = 1_000;

/** A file waiting its turn; `done` settles `finished` once it was handled, or dropped from the queue. */
interface Job {
  kind: 'dropped' | 'claimed';
  name: string;
  finished: Promise<void>;
  done(): void;
}

/**
 * Watches the inbox `options.dir`.
 *
 * @example
 * const inbox = watchInbox({
 *   dir: path.join(repo, 'inbox'), nodeId: config.nodeId, logger,
 *   submit: async (tasks) => (await supervisor.submit(tasks)).map((task) => task.id),
 * });
 * await inbox.ready;
 * // cp tasks.yaml inbox/.tasks.yaml.tmp && mv inbox/.tasks.yaml.tmp inbox/tasks.yaml
 */
export function watchInbox(options: InboxOptions): Inbox {
  const { logger, quietMs = DEFAULT_QUIET_MS, settleMs = DEFAULT_SETTLE_MS } = options;
  const layout = inboxLayout(options.dir, options.nodeId);
  const counts = { accepted: 0, rejected: 0 };
  let closed = false;
  let announceClosed: () => void = () => undefined;
  const closing = new Promise<void>((resolve) => (announceClosed = resolve));
  let watcher: FSWatcher | undefined;

  /** Per dropped name: its quiet or settle timer, while it waits for one. */
  const timers = new Map<string, NodeJS.Timeout>();
  /** Dropped names whose settle wait ran out with no fs event since. */
  const settled = new Set<string>();
  const queue: Job[] = [];
  /** The dropped names in `queue`: a name is queued once, however often it is heard. */
  const queued = new Map<string, Job>();
  let draining: Promise<void> | undefined;

  const deps: FileHandlerDeps = {
    layout, logger, settleMs, submit: options.submit,
    isClosed: () => closed,
    accepted: (entry) => {
      counts.accepted++;
      notify(() => options.onAccepted?.(entry), entry.file);
    },
    rejected: (entry) => {
      counts.rejected++;
      notify(() => options.onRejected?.(entry), entry.file);
    },
  };

  /** Calls back; a callback that throws is logged, and does not make the file look unhandled. */
  const notify = (callback: () => void, file: string): void => {
    try {
      callback();
    } catch (error) {
      logger.error({ err: error, file }, 'inbox: a callback threw');
    }
  };

  const run = async (job: Job): Promise<void> => {
    if (job.kind === 'claimed') return handleClaimed(deps, job.name);
    const outcome = await handleDropped(deps, job.name, settled.has(job.name));
    settled.delete(job.name);
    // An fs event during the read already armed the quiet timer, which goes first.
    if (outcome.kind === 'wait' && !closed && !timers.has(job.name) && !queued.has(job.name)) arm(job.name, outcome.ms, true);
  };

  /**
   * Handles the queue to its end. `draining` is cleared in the same turn as the queue was
   * found empty, so a job queued later always starts a new drain.
   */
  const drain = async (): Promise<void> => {
    while (!closed) {
      const job = queue.shift();
      if (job === undefined) break;
      if (job.kind === 'dropped') queued.delete(job.name);
      try {
        await run(job);
      } catch (error) {
        logger.error({ err: error, file: job.name }, 'inbox: handling a task file failed; it is left where it is');
      } finally {
        job.done();
      }
    }
    draining = undefined;
  };

  const enqueue = (kind: Job['kind'], name: string): Promise<void> => {
    const already = kind === 'dropped' ? queued.get(name) : undefined;
    if (already) return already.finished;
    let done: () => void = () => undefined;
    const job: Job = { kind, name, finished: new Promise<void>((resolve) => (done = resolve)), done: () => done() };
    if (closed) {
      job.done();
      return job.finished;
    }
    queue.push(job);
    if (kind === 'dropped') queued.set(name, job);
    draining ??= drain();
    return job.finished;
  };

  /** Waits `ms` before `name` is queued; `afterSettle` marks it settled when the wait ends. */
  const arm = (name: string, ms: number, afterSettle = false): void => {
    clearTimeout(timers.get(name));
    timers.set(name, setTimeout(() => {
      timers.delete(name);
      if (afterSettle) settled.add(name);
      void enqueue('dropped', name);
    }, ms));
  };

  /** An fs event for `name`: it is not quiet, so its wait starts again (even if it was queued). */
  const heard = (name: string): void => {
    if (closed) return;
    settled.delete(name);
    const job = queued.get(name);
    if (job) {
      queued.delete(name);
      queue.splice(queue.indexOf(job), 1);
      job.done();
    }
    arm(name, quietMs);
  };

  const start = async (): Promise<void> => {
    await Promise.all([layout.accepted, layout.rejected, layout.claimed].map((folder) => mkdir(folder, { recursive: true })));
    if (closed) return;
    const looked = (await listTaskFiles(layout.claimed)).map((name) => enqueue('claimed', name));
    if (closed) return;
    const current = watch(layout.dir, {
      depth: 0,
      ignoreInitial: true,
      // Only task files directly in the folder: not accepted/, rejected/, .claimed/, nor a
      // writer's dotted or .tmp file, which is heard when renamed to its real name.
      ignored: (entry, stats) => entry !== layout.dir && (path.dirname(entry) !== layout.dir || !isTaskFileName(path.basename(entry)) || stats?.isDirectory() === true),
    });
    watcher = current;
    current.on('all', (event, entry) => {
      if ((event === 'add' || event === 'change') && path.dirname(entry) === layout.dir) heard(path.basename(entry));
    });
    current.on('error', (error) => {
      if (!closed) logger.error({ err: error, dir: layout.dir }, 'inbox: the watch failed');
    });
    await Promise.race([new Promise<void>((resolve) => current.once('ready', () => resolve())), closing]);
    if (closed) return;
    for (const name of await listTaskFiles(layout.dir)) {
      // A name heard already waits for its quiet timer instead.
      if (!timers.has(name)) looked.push(enqueue('dropped', name));
    }
    await Promise.all(looked);
  };
  const ready = start();

  return {
    ready,
    counts: () => ({ ...counts }),
    async close() {
      if (!closed) {
        closed = true;
        announceClosed();
        for (const timer of timers.values()) clearTimeout(timer);
        timers.clear();
        // What is still queued stays where it is, for the next start (or another supervisor).
        for (const job of queue.splice(0)) job.done();
        queued.clear();
      }
      await ready.catch(() => undefined);
      await watcher?.close();
      await draining;
    },
  };
}
