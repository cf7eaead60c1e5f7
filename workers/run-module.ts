/**
 * Runs module tasks (JavaScript handlers) in piscina threads, off the main event loop, so a
 * CPU-bound handler cannot delay heartbeats or IPC. Timeout and cancellation both abort the
 * task's `AbortSignal`; piscina then terminates the thread running it (V8 stops even a busy
 * loop), and the next task starts on a fresh thread.
 *
 * **Warm threads, reloaded when the code can have changed.** Starting a thread and loading a
 * handler costs tens of ms (~140 ms with four workers on two cores), a warm run under 1-2 ms,
 * so threads are kept between tasks, one task at a time each. The pool is keyed to a *start
 * commit*: the worktree is checked out at the task's start commit, so what a thread loaded
 * from tracked files is what that commit holds. A task with the pool's start commit runs on
 * it as is. A task with another one first has git list the paths that differ between the
 * pool's commit and its own (one `git diff --raw --no-renames -z <pool's> <task's>` in the
 * worktree, see src/git/changed-paths.ts), and keeps the pool, now keyed to its own commit,
 * when none of them can be a module ({@link mayHoldModule}):
 * - a path can be a module when its extension, in any case, is one Node or a loader such as
 *   tsx imports: .js .mjs .cjs .jsx .ts .mts .cts .tsx .json (every `package.json` and
 *   `tsconfig.json` included) .node .wasm; when it lies under a `node_modules` directory;
 *   when it is named `.babelrc` or `.swcrc` (require hooks read them to compile modules);
 *   and when it is a symlink or a submodule on either side (its path says nothing of the
 *   files it leads to, so `current -> v2` changes code without a code path changing);
 * - any other path does not reload the threads: .md, .txt, .csv, images, data a handler
 *   reads with `fs` when it runs (the ESM cache holds modules, not such reads). `.npmrc` and
 *   lock files are not on the list: they steer `npm install`, not what Node loads;
 * - when the diff cannot be computed (an unknown commit, git failing, output it cannot
 *   read), the pool is replaced, as for a code change.
 * A replaced pool's threads are terminated once idle, and the next task loads its handler
 * and imports afresh. Each reuse compares the task's commit with the pool's current key, so
 * reuses do not drift: the module-able files at the key are always those the threads could
 * have loaded. Module-level state (and globals, `process.env` changes, timers left running)
 * may persist between the tasks of one pool, whose start commits may now differ in other
 * files. Not covered: a module that read a non-module file while loading (a top-level
 * `readFileSync` of a .yaml, dotenv's `.env`) keeps what it read until code changes; a file
 * loaded as code despite its extension (CommonJS `require()` of an extensionless path, a
 * loader hook for another extension); imports of a handler outside the worktree, and
 * imports from ignored files (`node_modules` installs, build output), which the commit does
 * not pin: they are reloaded with the next pool, not when they are edited (a handler's own
 * file is re-imported whenever its mtime changes; see module-thread.ts).
 */
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { ModuleThreadOutcome, ModuleThreadTask } from './module-thread.js';
import { MAX_TIMER_MS } from './run-pty.js';
import { changedPaths, type ChangedPath } from '../src/git/changed-paths.js';

/** Where a module task runs: the commit its worktree was checked out at, and that worktree. */
export interface ModuleCheckout {
  startCommit: string;
  /** The task's worktree: where git compares a new start commit with the pool's. */
  worktree: string;
}

/** Thread pools for module tasks, one kept per stretch of start commits with the same modules, started lazily. */
export interface ModulePool {
  /**
   * Runs `task` on a thread whose modules were loaded for a commit with the same module
   * files as `checkout.startCommit`: a warm one when the pool's commit is that one or differs
   * from it in no path that can be a module (see the file comment), a fresh pool otherwise.
   */
  run(task: ModuleThreadTask, checkout: ModuleCheckout, signal: AbortSignal): Promise<ModuleThreadOutcome>;
  /** Terminates all threads; resolves when they are gone. Safe to call when never started. */
  destroy(): Promise<void>;
}

// What Node imports, or a loader such as tsx compiles, by extension; compared in lower case.
const MODULE_EXTENSIONS = new Set(['.js', '.mjs', '.cjs', '.jsx', '.ts', '.mts', '.cts', '.tsx', '.json', '.node', '.wasm']);
// Read by require hooks (@babel/register, @swc-node/register) when they compile a module.
const LOADER_CONFIGS = new Set(['.babelrc', '.swcrc']);
const SYMLINK = '120000';
const SUBMODULE = '160000';

/**
 * Whether a changed path can hold (or lead to) something a thread loaded as a module: the
 * rule of the file comment.
 *
 * @example
 * mayHoldModule({ path: 'notes/today.md', oldMode: '100644', newMode: '100644' }) // false
 * mayHoldModule({ path: 'lib/state.mjs', oldMode: '100644', newMode: '100644' }) // true
 */
export function mayHoldModule(change: ChangedPath): boolean {
  if ([change.oldMode, change.newMode].some((mode) => mode === SYMLINK || mode === SUBMODULE)) return true;
  const parts = change.path.split('/');
  if (parts.includes('node_modules')) return true;
  const name = parts[parts.length - 1] ?? '';
  if (LOADER_CONFIGS.has(name)) return true;
  const dot = name.lastIndexOf('.');
  return dot !== -1 && MODULE_EXTENSIONS.has(name.slice(dot).toLowerCase());
}

/**
 * Whether threads loaded at commit `from` hold the modules `to` would load: true when no path
 * that differs between them can be a module, false when one can or the diff fails.
 */
async function sameModules(worktree: string, from: string, to: string): Promise<boolean> {
  try {
    return !(await changedPaths(worktree, from, to)).some(mayHoldModule);
  } catch {
    return false;
  }
}

/**
 * The thread file next to this module: `module-thread.js` when running compiled from
 * `dist/workers/`, `module-thread.ts` when running from source under tsx. The threads inherit
 * the process's `execArgv`, so an `--import <tsx>` given to the worker process applies there.
 */
export function resolveThreadFile(base: string = import.meta.url): string {
  const compiled = fileURLToPath(new URL('./module-thread.js', base));
  return existsSync(compiled) ? compiled : fileURLToPath(new URL('./module-thread.ts', base));
}

/** One pool, the start commit it is keyed to, and the tasks it is running. */
interface CommitPool {
  startCommit: string;
  threads: Piscina<ModuleThreadTask, ModuleThreadOutcome>;
  running: number;
  destroyed: Promise<void> | null;
}

/**
 * Creates the pools without starting any thread.
 *
 * @example
 * const pool = createModulePool(2);
 * const outcome = await pool.run(task, { startCommit: assign.startCommit, worktree }, AbortSignal.timeout(10_000));
 */
export function createModulePool(maxThreads: number, threadFile: string = resolveThreadFile()): ModulePool {
  let current: CommitPool | null = null;
  const pools = new Set<CommitPool>();
  const destroyPool = (pool: CommitPool): Promise<void> => {
    // piscina's destroy waits for every thread's exit and does not reject; the catch is there
    // because an unhandled rejection would end the worker process.
    pool.destroyed ??= pool.threads.destroy().catch(() => undefined).finally(() => pools.delete(pool));
    return pool.destroyed;
  };
  const replace = (startCommit: string): CommitPool => {
    const previous = current;
    const pool: CommitPool = {
      startCommit,
      threads: new Piscina<ModuleThreadTask, ModuleThreadOutcome>({
        filename: threadFile,
        maxThreads,
        // Threads start with the first task and then stay (no idle timeout) until the pool
        // is replaced; see the file comment.
        minThreads: 0,
        idleTimeout: Infinity,
        // One task per thread at a time: a handler's process.env and globals are its own.
        concurrentTasksPerWorker: 1,
      }),
      running: 0,
      destroyed: null,
    };
    current = pool;
    pools.add(pool);
    // The pool replaced goes now, or, still running a task (not possible with one task per
    // worker, but the interface allows it), when that task ends.
    if (previous !== null && previous.running === 0) void destroyPool(previous);
    return pool;
  };
  const choose = async ({ startCommit, worktree }: ModuleCheckout): Promise<CommitPool> => {
    const kept = current;
    if (kept === null) return replace(startCommit);
    if (kept.startCommit === startCommit) return kept;
    // `current === kept`: destroy() may have been called while git ran.
    if ((await sameModules(worktree, kept.startCommit, startCommit)) && current === kept) {
      kept.startCommit = startCommit;
      return kept;
    }
    return replace(startCommit);
  };
  // Pools are chosen one task at a time, in the order the tasks came, so that a diff still
  // running cannot let a later task's choice overtake an earlier one's.
  let choosing: Promise<unknown> = Promise.resolve();
  return {
    async run(task, checkout, signal) {
      const chosen = choosing.then(() => choose(checkout));
      choosing = chosen.catch(() => undefined);
      const pool = await chosen;
      pool.running += 1;
      try {
        return await pool.threads.run(task, { signal });
      } finally {
        pool.running -= 1;
        if (pool !== current && pool.running === 0) void destroyPool(pool);
      }
    },
    async destroy() {
      current = null;
      await Promise.all([...pools].map(destroyPool));
    },
  };
}

/** Why a module run ended. */
export type ModuleTerminationReason = 'returned' | 'timeout' | 'cancel' | 'crashed';

/** What one module run came to. */
export interface ModuleRunResult {
  terminationReason: ModuleTerminationReason;
  /** The thread's outcome when it reported one (returned or failed inside the thread). */
  outcome: ModuleThreadOutcome | null;
  /** Why the thread died, for `crashed`. */
  crashMessage: string | null;
  durationMs: number;
}

/** Options of {@link runModule}. */
export interface RunModuleOptions {
  pool: ModulePool;
  task: ModuleThreadTask;
  /** The commit the worktree was checked out at for this task: the pool's key. */
  startCommit: string;
  /** The task's worktree, where git compares its start commit with the pool's. */
  worktree: string;
  timeoutMs: number | null;
  signal: AbortSignal;
}

/**
 * Runs one module task with a timeout and cancellation. Never rejects.
 *
 * @example
 * const { terminationReason, outcome } = await runModule({ pool, task, startCommit, worktree, timeoutMs: 5_000, signal });
 */
export async function runModule(options: RunModuleOptions): Promise<ModuleRunResult> {
  const startedAt = performance.now();
  let terminationReason: ModuleTerminationReason | undefined;
  const controller = new AbortController();
  const stop = (why: 'timeout' | 'cancel'): void => {
    terminationReason ??= why;
    controller.abort(why);
  };
  const onAbort = (): void => stop('cancel');
  if (options.signal.aborted) stop('cancel');
  else options.signal.addEventListener('abort', onAbort, { once: true });
  const timer = options.timeoutMs === null ? undefined : setTimeout(() => stop('timeout'), Math.min(options.timeoutMs, MAX_TIMER_MS));

  let outcome: ModuleThreadOutcome | null = null;
  let crashMessage: string | null = null;
  try {
    outcome = await options.pool.run(options.task, { startCommit: options.startCommit, worktree: options.worktree }, controller.signal);
    terminationReason ??= 'returned';
  } catch (error) {
    // Either our abort (reason already set) or the thread died under the handler, e.g. it
    // called process.exit() or ran out of memory.
    terminationReason ??= 'crashed';
    crashMessage = error instanceof Error ? error.message : String(error);
  } finally {
    clearTimeout(timer);
    options.signal.removeEventListener('abort', onAbort);
  }
  return { terminationReason, outcome, crashMessage, durationMs: performance.now() - startedAt };
}
