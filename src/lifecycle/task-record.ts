/**
 * The task record: what a store tells its callers about one task. Tasks are data, not actors
 * (100k queued tasks must not mean 100k actors): a record is a plain snapshot assembled from
 * the task's rows (see rows.ts and record-of-rows.ts) by every store alike.
 */
import type { AgentSession, AgentUsage } from '../agents/types.js';
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

/** Statuses a task never leaves (but through `redrive`, for a dead task and what it blocked). */
export const TERMINAL_STATUSES: ReadonlySet<TaskStatus> = new Set<TaskStatus>(['complete', 'dead', 'blocked', 'cancelled']);

/** Statuses in which a worker holds the task under a lease. */
export const IN_FLIGHT_STATUSES: ReadonlySet<TaskStatus> = new Set<TaskStatus>(['assigned', 'running']);

/** Why a task failed, went dead or was blocked. */
export interface TaskError {
  readonly code: CoordErrorCode;
  readonly message: string;
  readonly details?: Record<string, unknown>;
}

/** What an attempt and a released start both say about a run: its number, who held it, when. */
export interface RunRecord {
  /** The attempt number it ran under. */
  readonly attempt: number;
  /** The supervisor (host) that made the run; every claim names one (absent only when a store does not know it). */
  readonly node?: string;
  readonly worker: string;
  readonly lease: string;
  readonly assignedAt: string;
  readonly startedAt: string | null;
  /**
   * The agent session the run had, as reported when it closed (completed, failed, deferred);
   * null for a run task, an open attempt, and a start closed without a report (a release, a
   * reap, a block, a cancel).
   */
  readonly session: AgentSession | null;
  /** The tokens and money the run used, as reported when it closed; null as for `session`. */
  readonly usage: AgentUsage | null;
}

/** One attempt: one lease issued to one worker. `attempt` is 1-based: always the attempt's position in `attempts`. */
export interface AttemptRecord extends RunRecord {
  readonly finishedAt: string | null;
  readonly exitCode: number | null;
  /** The failure code, or null for success / still open. */
  readonly code: CoordErrorCode | null;
  readonly message: string | null;
}

/**
 * One start that was taken back without a verdict (a drain, a stop, a worker that could not
 * take it, a supervisor that crashed while it ran, a rate limit it must wait out): it burnt
 * no attempt, so it is not in `attempts`, but it did run, and the history must say so
 * (execution is at-least-once). The next counted run reuses its `attempt` number.
 */
export interface ReleasedStart extends RunRecord {
  readonly releasedAt: string;
  /**
   * Why it was taken back, e.g. `supervisor restarted`, `drain deadline reached`, `stop requested`,
   * `worker unavailable`, or the reason a rate-limit deferral gave.
   */
  readonly reason: string;
  /** True when recovery took it back after its supervisor crashed: it counts towards `maxReleases`. */
  readonly crash: boolean;
}

/** Everything a store knows about one task, as a snapshot: changing it changes nothing in the store. */
export interface TaskRecord {
  readonly spec: TaskSpec;
  /** Submission sequence, store-wide; keeps FIFO order among equal priorities, retries included. */
  readonly seq: number;
  readonly status: TaskStatus;
  /** Distinct dependencies not yet complete. */
  readonly unmetDeps: number;
  /** Ids of tasks that depend on this one, in submission order. */
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
   * Rate-limit deferrals since the last `redrive` (or ever): the starts taken back to wait out
   * their provider's rate limit (`defer`). When it exceeds `maxRateLimitWaits` the task is dead
   * with `RATE_LIMITED`.
   */
  readonly rateLimitWaits: number;
  /**
   * Attempts made before the last `redrive`: they stay in `attempts` (the history, and
   * attempt numbers keep counting up) but no longer count towards `maxAttempts`, so the
   * budget left is `maxAttempts - (attempts.length - attemptBase)`. 0 for a task never redriven.
   */
  readonly attemptBase: number;
  /** The current fencing token while assigned/running, otherwise null. */
  readonly lease: string | null;
  /** Epoch ms at which the current lease expires (null while not in flight). */
  readonly leaseExpiresAt: number | null;
  readonly worker: string | null;
  /** The supervisor (host) of `worker`, when the claim named one. */
  readonly node: string | null;
  /** `coord/<id>`. */
  readonly branch: string;
  /** ISO time of the first counted run. */
  readonly startedAt: string | null;
  /** ISO time the task reached a terminal status. */
  readonly finishedAt: string | null;
  readonly exitCode: number | null;
  readonly result: unknown;
  readonly commit: string | null;
  readonly error: TaskError | null;
  /**
   * Epoch ms before which the task is not handed out: a retry's backoff (while `failed`), or a
   * rate limit's reset (a deferred task is `ready`, but no claim or peek sees it before then);
   * 0 when not delayed.
   */
  readonly readyAt: number;
}

/** `TASK_NOT_FOUND`: the store holds no task `id`. */
export function taskNotFound(id: string): CoordError {
  return new CoordError('TASK_NOT_FOUND', `no task "${id}"`, { details: { taskId: id } });
}
