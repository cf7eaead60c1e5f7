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
  // the CLI's store commands: nothing has run in this repository (or state directory) yet
  'STATE_NOT_FOUND',
  // the control plane: a daemon already (or not) running, a bad socket or HTTP request, a
  // missing token, a task change its state does not allow, no usable service manager
  'DAEMON_RUNNING', 'DAEMON_NOT_RUNNING', 'BAD_REQUEST', 'UNAUTHORIZED', 'TASK_STATE_CONFLICT', 'SERVICE_MANAGER_UNAVAILABLE',
  // agents: a provider's rate limit, a missing login, a prompt nobody answers, a result that says it failed,
  // and prompts or messages refused before they reach an agent
  'RATE_LIMITED', 'AGENT_AUTH', 'AGENT_NEEDS_INPUT', 'AGENT_FAILED', 'PAYLOAD_INVALID', 'PAYLOAD_TOO_LARGE',
  // the mailbox: why a delivery hopped (a session that ended, stayed busy, went stale, refused the
  // typed text), why one gave up, and the loop safeguards that block a task going round in circles
  'SESSION_ENDED', 'SESSION_BUSY', 'SESSION_STALE', 'DELIVERY_FAILED', 'DELIVERY_EXHAUSTED', 'LOOP_NO_PROGRESS', 'LOOP_REPEATED_FINDING',
  // coordination: a spending cap reached, declared files in use by a running task, and the merge
  // queue's verdicts (a target checked out with local changes, a branch that conflicts, a failing test)
  'BUDGET_EXCEEDED', 'FILES_BUSY', 'MERGE_TARGET_DIRTY', 'MERGE_CONFLICT', 'MERGE_TEST_FAILED',
  // pools: a worker whose worktree's setup command failed, a pool nobody declared, one not ready in time
  'SETUP_FAILED', 'POOL_NOT_FOUND', 'POOL_NOT_READY',
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

/** Who a failure is charged to, i.e. what it says something about. */
export type ChargedTo = 'task' | 'worker' | 'workspace' | 'supervisor';

/**
 * What coord does with a code. One table, read by the retry rule (the store), the circuit
 * breakers, the fallback chains, the dispatcher and the CLI's exit status; nothing else
 * decides these things from a code.
 */
export interface ErrorPolicy {
  /**
   * An attempt that failed with this code may run again (within `maxAttempts`). A report may
   * narrow it (a handler that throws `retryable: false`), never widen it.
   */
  readonly retryable: boolean;
  /**
   * What the failure is charged to: `task` (the command or handler: its breaker), `worker`
   * (where it ran: the worker's breaker), `workspace` (the worktree could not be prepared: the
   * task goes back unburnt and the worker leaves service), `supervisor` (coord itself, its
   * environment or the operator: no breaker counts it).
   */
  readonly chargedTo: ChargedTo;
  /** Counts as a failure on the breaker of `chargedTo` (`task` → command, `worker` → worker). */
  readonly tripsBreaker: boolean;
  /** Starts (or advances) a fallback chain by default: the session stalled, not the work. */
  readonly startsFallback: boolean;
  /**
   * The CLI's exit status when a command ends with this code: 2 = fix the input or the
   * environment, 3 = no daemon is running (LSB's "not running"), 1 = otherwise.
   */
  readonly exit: 1 | 2 | 3;
}

const policy = (retryable: boolean, chargedTo: ChargedTo, tripsBreaker: boolean, startsFallback: boolean, exit: 1 | 2 | 3): ErrorPolicy =>
  Object.freeze({ retryable, chargedTo, tripsBreaker, startsFallback, exit });
/** Refused input or environment: nothing ran. */
const refusal = policy(false, 'supervisor', false, false, 2);
const invalidInput = policy(false, 'task', false, false, 2);

/** The policy of every code; typed by the closed union, so a new code cannot be forgotten. */
export const ERROR_POLICY: Readonly<Record<CoordErrorCode, ErrorPolicy>> = Object.freeze({
  USAGE: refusal,
  CONFIG_INVALID: refusal,
  TASK_FILE_UNREADABLE: invalidInput,
  TASK_FILE_SYNTAX: invalidInput,
  TASK_INVALID: invalidInput,
  TASK_UNSAFE_ID: invalidInput,
  TASK_DUPLICATE_ID: invalidInput,
  TASK_UNKNOWN_DEP: invalidInput,
  TASK_CYCLE: invalidInput,
  TASK_EXISTS: invalidInput,
  TASK_UNSATISFIABLE: invalidInput,
  TASK_NOT_FOUND: policy(false, 'task', false, false, 1),
  REPO_NOT_FOUND: refusal,
  REPO_DIRTY: refusal,
  REPO_NO_COMMITS: refusal,
  BRANCH_EXISTS: refusal,
  // git in a worktree failing says something about the worktree's host, not the task
  GIT_FAILED: policy(false, 'worker', true, false, 1),
  // the shared remote was unreachable: another try may get through
  GIT_PUSH_FAILED: policy(true, 'supervisor', false, false, 1),
  WORKTREE_FAILED: policy(true, 'workspace', false, false, 1),
  TASK_EXIT_NONZERO: policy(true, 'task', true, false, 1),
  TASK_TIMEOUT: policy(true, 'task', true, true, 1),
  TASK_CANCELLED: policy(true, 'supervisor', false, false, 1),
  TASK_SPAWN_FAILED: policy(false, 'task', true, false, 1),
  MODULE_FAILED: policy(true, 'task', true, false, 1),
  MODULE_NOT_FOUND: policy(false, 'task', true, false, 1),
  RESULT_NOT_SERIALIZABLE: policy(false, 'task', false, false, 1),
  DEP_DEAD: policy(false, 'task', false, false, 1),
  DEP_CONFLICT: policy(false, 'task', false, false, 1),
  // work on another host that cannot be fetched now may be fetchable later
  DEP_COMMIT_MISSING: policy(true, 'supervisor', false, false, 1),
  // a crash is charged by the worker machine (restart intensity); kill -9 says nothing about the task
  WORKER_CRASHED: policy(true, 'worker', false, false, 1),
  WORKER_HUNG: policy(true, 'worker', true, true, 1),
  STORE_URL_INVALID: refusal,
  STORE_UNAVAILABLE: policy(true, 'supervisor', false, false, 1),
  STORE_TOO_NEW: refusal,
  STORE_CORRUPT: refusal,
  LEASE_EXPIRED: policy(true, 'worker', true, true, 1),
  STATE_LOCKED: refusal,
  WORKTREE_LOCKED: refusal,
  STATE_DIR_UNWRITABLE: refusal,
  DISK_FULL: refusal,
  TASK_MOVED_REF: policy(true, 'task', false, false, 1),
  TASK_KILLS_SUPERVISOR: policy(false, 'task', false, false, 1),
  STATE_NOT_FOUND: policy(false, 'supervisor', false, false, 1),
  DAEMON_RUNNING: refusal,
  DAEMON_NOT_RUNNING: policy(false, 'supervisor', false, false, 3),
  BAD_REQUEST: invalidInput,
  UNAUTHORIZED: refusal,
  TASK_STATE_CONFLICT: policy(false, 'task', false, false, 1),
  SERVICE_MANAGER_UNAVAILABLE: refusal,
  // the provider's limit, not the task's fault: waited out without burning an attempt (bounded by maxRateLimitWaits)
  RATE_LIMITED: policy(true, 'supervisor', false, false, 1),
  // a login is missing or refused: no retry can fix it until someone logs in
  AGENT_AUTH: policy(false, 'task', true, false, 1),
  // asked a question in a non-interactive run: the prompt must say more
  AGENT_NEEDS_INPUT: policy(false, 'task', false, false, 1),
  // the agent's own result says it failed (e.g. is_error, an API error that is not a rate limit)
  AGENT_FAILED: policy(true, 'task', true, false, 1),
  PAYLOAD_INVALID: invalidInput,
  PAYLOAD_TOO_LARGE: invalidInput,
  // delivery hops: the message goes on by the next route (resume, respawn), nothing is charged
  SESSION_ENDED: policy(true, 'supervisor', false, false, 1),
  SESSION_BUSY: policy(true, 'supervisor', false, false, 1),
  SESSION_STALE: policy(true, 'supervisor', false, false, 1),
  DELIVERY_FAILED: policy(true, 'supervisor', false, false, 1),
  // every route of a delivery failed: the task is dead with the hops that led there
  DELIVERY_EXHAUSTED: policy(false, 'task', false, false, 1),
  // the agent goes round in circles: blocked until `coord unblock ID --reason …`
  LOOP_NO_PROGRESS: policy(false, 'task', false, false, 1),
  LOOP_REPEATED_FINDING: policy(false, 'task', false, false, 1),
  // a cap on spending was reached: the task stops here (a raised cap releases the ones held before they start)
  BUDGET_EXCEEDED: policy(false, 'task', false, false, 1),
  // a hold, not a failure: the task waits until the running task whose files it declared ends
  FILES_BUSY: policy(true, 'supervisor', false, false, 1),
  // The worker's worktree is not fit for tasks: the worker stays out of service, no task is charged.
  SETUP_FAILED: policy(false, 'workspace', false, false, 1),
  POOL_NOT_FOUND: policy(false, 'supervisor', false, false, 2),
  POOL_NOT_READY: policy(true, 'supervisor', false, false, 1),
  // the merge queue's: the task's own work stays complete on its branch; the target is left as it was
  MERGE_TARGET_DIRTY: policy(true, 'supervisor', false, false, 1),
  MERGE_CONFLICT: policy(false, 'task', false, false, 1),
  MERGE_TEST_FAILED: policy(false, 'task', false, false, 1),
  PROTOCOL_INVALID: policy(true, 'worker', false, false, 1),
  NOT_RUNNING: policy(false, 'supervisor', false, false, 1),
  WORKER_SPAWN_FAILED: policy(false, 'supervisor', false, false, 1),
  ALL_WORKERS_FAILED: policy(false, 'supervisor', false, false, 1),
  INTERNAL: policy(true, 'supervisor', false, false, 1),
});

/** The policy of `code`. */
export function policyOf(code: CoordErrorCode): ErrorPolicy {
  return ERROR_POLICY[code];
}

/**
 * Reads a code that comes in from outside the type system (IPC, a store row, a handler's
 * thrown error, a config file) into the closed union: a known code stays, anything else is
 * `fallback`. Parse once at the edge; after it the code is a {@link CoordErrorCode}.
 */
export function parseErrorCode(value: unknown, fallback: CoordErrorCode = 'INTERNAL'): CoordErrorCode {
  return isCoordErrorCode(value) ? value : fallback;
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
