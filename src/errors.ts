/**
 * Every error coord raises carries a stable `code`. Callers (the CLI's exit paths, the
 * dead-letter reasons, IPC rejections, users' scripts) branch on the code, never on the
 * message text, and recognise a coord error by a marker symbol rather than `instanceof`,
 * which breaks when two copies of the package are loaded.
 */

/** The closed set of error codes coord emits; scripts may rely on these strings. */
export const COORD_ERROR_CODES = [
  // bad input: usage, configuration, task files, submissions
  'USAGE', 'CONFIG_INVALID', 'TASK_FILE_UNREADABLE', 'TASK_FILE_SYNTAX', 'TASK_INVALID', 'TASK_UNSAFE_ID',
  'TASK_DUPLICATE_ID', 'TASK_UNKNOWN_DEP', 'TASK_CYCLE', 'TASK_EXISTS', 'TASK_UNSATISFIABLE', 'TASK_NOT_FOUND',
  // git and worktrees
  'REPO_NOT_FOUND', 'REPO_DIRTY', 'REPO_NO_COMMITS', 'BRANCH_EXISTS', 'GIT_FAILED', 'GIT_PUSH_FAILED', 'WORKTREE_FAILED',
  // task outcomes (dead-letter and blocked reasons)
  'TASK_EXIT_NONZERO', 'TASK_TIMEOUT', 'TASK_CANCELLED', 'TASK_SPAWN_FAILED', 'MODULE_FAILED', 'MODULE_NOT_FOUND',
  'RESULT_NOT_SERIALIZABLE', 'DEP_DEAD', 'DEP_CONFLICT', 'DEP_COMMIT_MISSING', 'WORKER_CRASHED', 'WORKER_HUNG',
  // durable state: store URLs, reachability, schema versions, expired leases, corruption
  'STORE_URL_INVALID', 'STORE_UNAVAILABLE', 'STORE_TOO_NEW', 'STORE_CORRUPT', 'LEASE_EXPIRED',
  // exclusion: one supervisor per state directory / store node, one writer per worktree
  'STATE_LOCKED', 'WORKTREE_LOCKED',
  // the machine around coord: a state directory it cannot write, a full disk
  'STATE_DIR_UNWRITABLE', 'DISK_FULL',
  // integrity: a task that moved refs outside its branch, or keeps killing its supervisor
  'TASK_MOVED_REF', 'TASK_KILLS_SUPERVISOR',
  // protocol and lifecycle
  'PROTOCOL_INVALID', 'NOT_RUNNING', 'WORKER_SPAWN_FAILED', 'ALL_WORKERS_FAILED', 'INTERNAL',
] as const;

/** A stable error code. */
export type CoordErrorCode = (typeof COORD_ERROR_CODES)[number];

const codeSet: ReadonlySet<string> = new Set(COORD_ERROR_CODES);

/** True when `code` is one of {@link COORD_ERROR_CODES}. */
export function isCoordErrorCode(code: unknown): code is CoordErrorCode {
  return typeof code === 'string' && codeSet.has(code);
}

const marker = Symbol.for('coord.error');

/** Options accepted by {@link CoordError}. */
export interface CoordErrorOptions {
  cause?: unknown;
  /** Structured facts about the failure (file, line, task id, conflicting files...). */
  details?: Record<string, unknown>;
}

/** An error with a stable {@link CoordErrorCode}. Recognise it with {@link isCoordError}. */
export class CoordError extends Error {
  readonly code: CoordErrorCode;
  readonly details: Record<string, unknown>;
  readonly [marker] = true;

  constructor(code: CoordErrorCode, message: string, options: CoordErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CoordError';
    this.code = code;
    this.details = options.details ?? {};
  }

  /** A plain object for logs, summaries and IPC. */
  toJSON(): { code: CoordErrorCode; message: string; details: Record<string, unknown> } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

/** True when `value` is a {@link CoordError}, even one from another copy of coord. */
export function isCoordError(value: unknown): value is CoordError {
  return typeof value === 'object' && value !== null && (value as { [marker]?: unknown })[marker] === true;
}

/** Wraps anything thrown into a {@link CoordError}, keeping coord errors as they are. */
export function toCoordError(value: unknown, fallback: CoordErrorCode = 'INTERNAL'): CoordError {
  if (isCoordError(value)) return value;
  const message = value instanceof Error ? value.message : String(value);
  return new CoordError(fallback, message, { cause: value });
}
