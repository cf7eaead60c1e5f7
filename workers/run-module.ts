/**
 * Runs module tasks (JavaScript handlers) in a piscina thread pool, one pool per worker
 * process, created on the first module task. Handlers run off the main event loop, so a
 * CPU-bound handler cannot delay heartbeats or IPC. Timeout and cancellation both abort the
 * task's `AbortSignal`; piscina then terminates the thread running it (V8 stops even a busy
 * loop), and the pool starts a fresh thread for the next task.
 */
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { ModuleThreadOutcome, ModuleThreadTask } from './module-thread.js';
import { MAX_TIMER_MS } from './run-pty.js';

/** A lazily started thread pool for module tasks. */
export interface ModulePool {
  run(task: ModuleThreadTask, signal: AbortSignal): Promise<ModuleThreadOutcome>;
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

/**
 * Creates the pool without starting any thread.
 *
 * @example
 * const pool = createModulePool(2);
 * const outcome = await pool.run(task, AbortSignal.timeout(10_000));
 */
export function createModulePool(maxThreads: number, threadFile: string = resolveThreadFile()): ModulePool {
  let pool: Piscina<ModuleThreadTask, ModuleThreadOutcome> | null = null;
  return {
    run(task, signal) {
      pool ??= new Piscina<ModuleThreadTask, ModuleThreadOutcome>({
        filename: threadFile,
        maxThreads,
        // No idle threads: each task gets a fresh thread and so a fresh module graph, which
        // keeps one task's globals and cached (possibly since edited) modules away from the
        // next. Starting a thread costs tens of ms, small beside the git work of an attempt.
        minThreads: 0,
        idleTimeout: 0,
      });
      return pool.run(task, { signal });
    },
    async destroy() {
      const current = pool;
      pool = null;
      if (current !== null) await current.destroy();
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
  timeoutMs: number | null;
  signal: AbortSignal;
}

/**
 * Runs one module task with a timeout and cancellation. Never rejects.
 *
 * @example
 * const { terminationReason, outcome } = await runModule({ pool, task, timeoutMs: 5_000, signal });
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
    outcome = await options.pool.run(options.task, controller.signal);
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
