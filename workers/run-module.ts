/**
 * Runs module tasks (JavaScript handlers) in piscina threads, off the main event loop, so a
 * CPU-bound handler cannot delay heartbeats or IPC. Timeout and cancellation both abort the
 * task's `AbortSignal`; piscina then terminates the thread running it (V8 stops even a busy
 * loop), and the next task starts on a fresh thread.
 *
 * **Warm threads, reloaded when the code can have changed.** Starting a thread and loading a
 * handler costs tens of ms, as much as the rest of a short task, so threads are kept between
 * tasks, one task at a time each. They are kept per *start commit*: the worktree is checked
 * out at the task's start commit, so two tasks with the same one see identical tracked files,
 * and a handler and its imports loaded for the first are what the second would load. A task
 * with another start commit replaces the pool (the old threads are terminated once idle), so
 * handlers and their imports are reloaded whenever the start commit changes; module-level
 * state (and globals, `process.env` changes, timers left running) may persist between tasks
 * that start from the same commit. What the commit does not pin is not covered: the imports
 * of a handler outside the worktree, and imports from ignored files (`node_modules`, build
 * output), are reloaded with the next start commit, not when they are edited (a handler's own
 * file is re-imported whenever its mtime changes; see module-thread.ts).
 */
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { ModuleThreadOutcome, ModuleThreadTask } from './module-thread.js';
import { MAX_TIMER_MS } from './run-pty.js';

/** Thread pools for module tasks, one per start commit, started lazily. */
export interface ModulePool {
  /**
   * Runs `task` on a thread whose modules were loaded for `startCommit`: a warm one when the
   * previous task had the same start commit, a fresh pool otherwise.
   */
  run(task: ModuleThreadTask, startCommit: string, signal: AbortSignal): Promise<ModuleThreadOutcome>;
  /** Terminates all threads; resolves when they are gone. Safe to call when never started. */
  destroy(): Promise<void>;
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

/** The pool of one start commit and the tasks it is running. */
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
 * const outcome = await pool.run(task, assign.startCommit, AbortSignal.timeout(10_000));
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
  return {
    async run(task, startCommit, signal) {
      if (current === null || current.startCommit !== startCommit) {
        const previous = current;
        current = {
          startCommit,
          threads: new Piscina<ModuleThreadTask, ModuleThreadOutcome>({
            filename: threadFile,
            maxThreads,
            // Threads start with the first task and then stay (no idle timeout) until the
            // start commit changes; see the file comment.
            minThreads: 0,
            idleTimeout: Infinity,
            // One task per thread at a time: a handler's process.env and globals are its own.
            concurrentTasksPerWorker: 1,
          }),
          running: 0,
          destroyed: null,
        };
        pools.add(current);
        // Another start commit's pool is replaced; one still running a task (not possible
        // with one task per worker, but the interface allows it) goes when that task ends.
        if (previous !== null && previous.running === 0) void destroyPool(previous);
      }
      const pool = current;
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
  timeoutMs: number | null;
  signal: AbortSignal;
}

/**
 * Runs one module task with a timeout and cancellation. Never rejects.
 *
 * @example
 * const { terminationReason, outcome } = await runModule({ pool, task, startCommit, timeoutMs: 5_000, signal });
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
    outcome = await options.pool.run(options.task, options.startCommit, controller.signal);
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
