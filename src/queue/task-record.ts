/**
 * The task record: what the queue knows about one task. Tasks are data, not actors (100k
 * queued tasks must not mean 100k actors), so a record is a plain object the queue mutates
 * and everything else reads.
 */
import { CoordError, type CoordErrorCode } from '../errors.js';
import type { TaskSpec } from '../tasks/spec.js';

/** Every status a task can be in, in lifecycle order. */
export const TASK_STATUSES = [
  'pending',
  'ready',
  'assigned',
  'running',
  'failed',
  'complete',
  'dead',
  'blocked',
  'cancelled',
] as const;

/**
 * `pending` (deps unmet) → `ready` → `assigned` (claimed by a worker, lease issued) →
 * `running` → `complete`; or `failed` (waiting out a retry backoff) → `ready`, or `dead`
 * when attempts run out; `blocked` when a dependency can never complete; `cancelled`.
 */
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** Statuses a task never leaves. */
export const TERMINAL_STATUSES: ReadonlySet<TaskStatus> = new Set<TaskStatus>(['complete', 'dead', 'blocked', 'cancelled']);

/** Statuses in which a worker holds the task under a lease. */
export const IN_FLIGHT_STATUSES: ReadonlySet<TaskStatus> = new Set<TaskStatus>(['assigned', 'running']);

/** Why a task failed, went dead or was blocked. `code` is a {@link CoordErrorCode} or a worker's code. */
export interface TaskError {
  readonly code: CoordErrorCode;
  readonly message: string;
  readonly details?: Record<string, unknown>;
}

/** One attempt: one lease issued to one worker. */
export interface AttemptRecord {
  /** 1-based; always the attempt's position in `attempts`. */
  readonly attempt: number;
  /**
   * The supervisor (host) that made the attempt. Always set by a claim; absent only for
   * attempts made through `TaskQueue.assign` without a node (a single in-process queue).
   */
  readonly node?: string;
  readonly worker: string;
  readonly lease: string;
  readonly assignedAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly exitCode: number | null;
  /** The failure code, or null for success / still open. */
  readonly code: string | null;
  readonly message: string | null;
}

/**
 * One start that was taken back without a verdict (a drain, a stop, a worker that could not
 * take it, a supervisor that crashed while it ran): it burnt no attempt, so it is not in
 * `attempts`, but it did run, and the history must say so (execution is at-least-once).
 */
export interface ReleasedStart {
  /** The attempt number it ran under; the next counted run reuses it. */
  readonly attempt: number;
  /** The supervisor (host) that made the start, when the claim named one. */
  readonly node?: string;
  readonly worker: string;
  readonly lease: string;
  readonly assignedAt: string;
  readonly startedAt: string | null;
  readonly releasedAt: string;
  /** Why it was taken back, e.g. `supervisor restarted`, `drain deadline reached`, `stop requested`, `worker unavailable`. */
  readonly reason: string;
  /** True when recovery took it back after its supervisor crashed: it counts towards `maxReleases`. */
  readonly crash: boolean;
}

/** Everything the queue knows about one task. Records handed out are live views: read, don't keep. */
export interface TaskRecord {
  readonly spec: TaskSpec;
  /** Submission sequence, queue-wide; keeps FIFO order among equal priorities, retries included. */
  readonly seq: number;
  readonly status: TaskStatus;
  /** Distinct dependencies not yet complete. */
  readonly unmetDeps: number;
  /** Ids of tasks that depend on this one. */
  readonly dependents: readonly string[];
  /**
   * Attempts that count towards `maxAttempts`, oldest first. A released attempt (drain, worker
   * taken away, supervisor crash) moves to `released`, so `attempts.length` is the number used
   * and the next run is attempt `attempts.length + 1`.
   */
  readonly attempts: readonly AttemptRecord[];
  /** How many times the task was taken back without a verdict (see `attempts`). */
  readonly releases: number;
  /**
   * The starts taken back without a verdict, oldest first (as far back as the store keeps
   * them: a store written before schema version 2 kept only the `releases` count).
   */
  readonly released: readonly ReleasedStart[];
  /**
   * Crash-releases since the last `redrive` (or ever): the starts recovery took back after a
   * supervisor crash. When it reaches `maxReleases` the task is dead with `TASK_KILLS_SUPERVISOR`.
   */
  readonly crashReleases: number;
  /**
   * Attempts made before the last `redrive`: they stay in `attempts` (the history, and
   * attempt numbers keep counting up) but no longer count towards `maxAttempts`, so the
   * budget left is `maxAttempts - (attempts.length - attemptBase)`. 0 for a task never redriven.
   */
  readonly attemptBase: number;
  /** The current fencing token while assigned/running, otherwise null. */
  readonly lease: string | null;
  /** Epoch ms at which the current lease expires (null while not in flight, or for a lease without expiry). */
  readonly leaseExpiresAt: number | null;
  readonly worker: string | null;
  /** The supervisor (host) of `worker`, when the claim named one. */
  readonly node: string | null;
  /** `coord/<id>`. */
  readonly branch: string;
  /** ISO time of the first run. */
  readonly startedAt: string | null;
  /** ISO time the task reached a terminal status. */
  readonly finishedAt: string | null;
  readonly exitCode: number | null;
  readonly result: unknown;
  readonly commit: string | null;
  readonly error: TaskError | null;
  /** Epoch ms before which a retry is not handed out; 0 when not delayed. */
  readonly readyAt: number;
}

type Writable<T> = { -readonly [K in keyof T]: T[K] };

/** The queue's own mutable view of an attempt. */
export type MutableAttempt = Writable<AttemptRecord>;

/** The queue's own mutable view of a record. */
export type MutableTaskRecord = Writable<Omit<TaskRecord, 'attempts' | 'dependents' | 'released'>> & {
  attempts: MutableAttempt[];
  dependents: string[];
  released: ReleasedStart[];
};

/** A fresh `pending` record for `spec`. */
export function createTaskRecord(spec: TaskSpec, seq: number): MutableTaskRecord {
  return {
    spec,
    seq,
    status: 'pending',
    unmetDeps: 0,
    dependents: [],
    attempts: [],
    releases: 0,
    released: [],
    crashReleases: 0,
    attemptBase: 0,
    lease: null,
    leaseExpiresAt: null,
    worker: null,
    node: null,
    branch: `coord/${spec.id}`,
    startedAt: null,
    finishedAt: null,
    exitCode: null,
    result: null,
    commit: null,
    error: null,
    readyAt: 0,
  };
}

/**
 * True when `lease` is the fencing token of the task's current attempt. A result carrying any
 * other lease comes from an attempt the supervisor has given up on (a worker presumed dead, a
 * drained or cancelled task) and must change nothing.
 */
export function isLeaseCurrent(record: Pick<TaskRecord, 'status' | 'lease'>, lease: string): boolean {
  return IN_FLIGHT_STATUSES.has(record.status) && record.lease !== null && record.lease === lease;
}

/** The open (last) attempt of an in-flight task; its absence is a queue bug. */
export function currentAttempt(record: MutableTaskRecord): MutableAttempt {
  const attempt = record.attempts[record.attempts.length - 1];
  if (attempt === undefined) throw new CoordError('INTERNAL', `task "${record.spec.id}" is in flight without an attempt`);
  return attempt;
}

let lastEpochMs = Number.NaN;
let lastIso = '';

/**
 * Epoch ms → ISO-8601, the records' time format. Formatting costs about as much as the rest
 * of a task's bookkeeping together, and a dispatch pass stamps many records with the same
 * `now`, so the last answer is kept.
 */
export function isoTime(epochMs: number): string {
  if (epochMs !== lastEpochMs) {
    lastIso = new Date(epochMs).toISOString();
    lastEpochMs = epochMs;
  }
  return lastIso;
}
