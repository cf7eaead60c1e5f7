/**
 * The piscina thread file: runs one module task inside a worker thread. It imports the
 * handler module, calls the named export with `(input, context)` and returns its awaited
 * value checked for JSON. It never throws: errors cross the thread boundary by structured
 * clone, which keeps `message` but drops properties such as `code` and `retryable`, so every
 * outcome, failures included, is returned as a plain {@link ModuleThreadOutcome}.
 */
import { stat } from 'node:fs/promises';
import { parseErrorCode, type CoordErrorCode } from '../src/errors.js';
import { pathToFileURL } from 'node:url';
import { toJsonValue } from './json-safe.js';
import { coordVariables, type TaskIdentity } from './task-env.js';

/** The second argument a handler receives. */
export type ModuleTaskContext = TaskIdentity;

/** One module task as posted to the thread. */
export interface ModuleThreadTask {
  /** Absolute path of the handler module. */
  modulePath: string;
  exportName: string;
  input: unknown;
  context: ModuleTaskContext;
}

/** What the thread reports back. */
export type ModuleThreadOutcome =
  | { ok: true; value: unknown }
  | { ok: false; code: CoordErrorCode; message: string; retryable: boolean };


/**
 * Runs the task. Piscina calls this default export for every task posted to the pool.
 *
 * @example
 * // handler module: export default async function (input, { taskId }) { return { taskId, sum: input.a + input.b }; }
 */
export default async function runModuleTask(task: ModuleThreadTask): Promise<ModuleThreadOutcome> {
  const loaded = await loadHandler(task.modulePath, task.exportName);
  if (!loaded.ok) return loaded;
  // Threads have their own copy of the environment, so this is visible only to this task's
  // handler (a thread runs one task at a time: concurrentTasksPerWorker is 1).
  Object.assign(process.env, coordVariables(task.context));
  let value: unknown;
  try {
    value = await loaded.handler(task.input, { ...task.context });
  } catch (error) {
    return thrownOutcome(error);
  }
  const json = toJsonValue(value);
  if (!json.ok) return { ok: false, code: 'RESULT_NOT_SERIALIZABLE', message: `handler result is not JSON: ${json.reason}`, retryable: false };
  return { ok: true, value: json.value };
}

type Handler = (input: unknown, context: ModuleTaskContext) => unknown;

async function loadHandler(modulePath: string, exportName: string): Promise<{ ok: true; handler: Handler } | Extract<ModuleThreadOutcome, { ok: false }>> {
  let mtimeMs: number;
  try {
    const info = await stat(modulePath);
    if (!info.isFile()) return notFound(`${modulePath} is not a file`);
    mtimeMs = info.mtimeMs;
  } catch {
    return notFound(`module ${modulePath} does not exist`);
  }
  let namespace: Record<string, unknown>;
  try {
    // Threads are reused between tasks whose start commits hold the same module files (see
    // run-module). The query also makes a handler file edited since an
    // earlier task in this thread (one outside the worktree, or ignored) load afresh instead
    // of coming from the ESM cache; its imports are not re-imported this way.
    namespace = (await import(`${pathToFileURL(modulePath).href}?mtime=${mtimeMs}`)) as Record<string, unknown>;
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      return notFound(`module ${modulePath} failed to load: ${describe(error)}`);
    }
    // A syntax error or a throwing top level: the same commit will fail the same way.
    return { ok: false, code: 'MODULE_FAILED', message: `module ${modulePath} failed to load: ${describe(error)}`, retryable: false };
  }
  const handler = namespace[exportName];
  if (typeof handler !== 'function') {
    return notFound(`module ${modulePath} has no function export "${exportName}" (found ${typeof handler})`);
  }
  return { ok: true, handler: handler as Handler };
}

function notFound(message: string): Extract<ModuleThreadOutcome, { ok: false }> {
  return { ok: false, code: 'MODULE_NOT_FOUND', message, retryable: false };
}

function thrownOutcome(error: unknown): ModuleThreadOutcome {
  const fields = typeof error === 'object' && error !== null ? (error as { code?: unknown; retryable?: unknown }) : {};
  // A handler's own code that is one of coord's stays the failure code; any other code is
  // kept at the head of the message (coord's codes are a closed set its policy table covers).
  const own = typeof fields.code === 'string' ? fields.code : null;
  const code = parseErrorCode(own, 'MODULE_FAILED');
  const message = own !== null && own !== code ? `${own}: ${describe(error)}` : describe(error);
  return { ok: false, code, message, retryable: fields.retryable !== false };
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'string') return error;
  try {
    return JSON.stringify(error) ?? String(error);
  } catch {
    return Object.prototype.toString.call(error);
  }
}
