/**
 * The run summary (`--summary FILE`, `supervisor.summary()`). The fields named in the
 * run-summary contract are relied on by users' scripts: never rename or remove them; add.
 */
import type { CoordErrorCode } from '../errors.js';
import type { CoordinatorState } from '../../machines/coordinator.js';
import type { TaskRecord } from '../lifecycle/task-record.js';
import type { Repository } from '../worktrees/repository.js';
import { addUsage, zeroUsage, type TaskUsage, type UsageLedger } from './outcomes/usage.js';
import type { AgentSession } from '../agents/types.js';
import type { Liveness } from '../agents/liveness.js';
import type { WorkerDescription } from './worker-registry.js';
import { taskLogFile } from './dispatch/assign-message.js';
import { taskHistory, type HistoryEntry } from './history.js';
import type { MailboxSummary } from './mailbox/operator.js';
import type { HeldTask } from './dispatch/dispatcher.js';
import type { TaskMerge } from './coordination/merge.js';
import type { RateKeyState } from '../coordination/rate-limiter.js';
import type { BudgetScopeState } from '../coordination/budget.js';

export type { HistoryEntry } from './history.js';
import { readAllLogFacts, type TaskLogFacts } from './log-facts.js';

export interface TaskSummary {
  id: string;
  status: string;
  worker: string | null;
  /** The supervisor (node id) that made the latest attempt; each attempt's is in `history`. */
  node: string | null;
  branch: string;
  attempts: number;
  exitCode: number | null;
  startedAt: string | null;
  finishedAt: string | null;
  error: { code: CoordErrorCode; message: string; details?: Record<string, unknown> } | null;
  /** A module task's return value; null for run tasks. */
  result: unknown;
  /** The tip of the task's branch when it finished. */
  commit: string | null;
  /** The output log of the latest attempt. */
  logFile: string | null;
  /** The latest attempt's log as the file says (size, cap, truncation); null before any attempt or when the file is gone. */
  log: TaskLogFacts | null;
  /**
   * Tokens and USD over every start (counted attempts and released ones, the running one so far);
   * null when nothing reported any. `costUsd` sums what is known.
   */
  usage: TaskUsage | null;
  /** An agent task's latest session (`agent`: the profile, `id`: the CLI's session id), or null. */
  session: AgentSession | null;
  /** A running agent task's liveness (`progressing`, `quiet`, `stalled`), else null. */
  liveness: Liveness | null;
  /** Rate limits waited out (no attempt burnt each) since the last redrive. */
  rateLimitWaits: number;
  /** Starts taken back without a verdict (drain, stop, supervisor crash, …): in `history`, not in `attempts`. */
  releases: number;
  /** Of those, the crash-releases since the last redrive: at `maxReleases` the task is dead (`TASK_KILLS_SUPERVISOR`). */
  crashReleases: number;
  /** Every start, oldest first: the counted attempts and the released starts (`released: true`, with `releaseReason`). */
  history: readonly HistoryEntry[];
  /** An agent task's mailbox: its messages, read cursor, deliveries with every try, loop safeguard and overrides; null otherwise. */
  mailbox: MailboxSummary | null;
  /** A ready task held back: by a budget (`BUDGET_EXCEEDED`), a running task's declared files (`FILES_BUSY`), a rate limit (`RATE_LIMITED`) or an open breaker (`code` null); `scope` says which. Null otherwise. */
  held: { code: string | null; scope: string; since: string } | null;
  /** With a merge queue: where the task's branch stands (`pending`, `merged` with the target's `commit`, `conflict` with `files`, `test-failed` with the test's `logFile`); null otherwise. */
  merge: TaskMerge | null;
}

/** What the run's coordination says (see docs/coordination.md). */
export interface CoordinationSummary {
  /** Each rate-limited key: cooldown, AIMD concurrency, in flight, the current window. */
  rateLimits: RateKeyState[];
  /** Each budget scope with spend or a cap. */
  budgets: BudgetScopeState[];
  /** The merge queue: its target and how many branches stand where; null without one. */
  merge: { target: string; counts: Record<string, number> } | null;
  /** Predicted conflicts between live task branches (and with the merge target). */
  conflicts: ConflictSummary[];
}

/** One predicted conflict: two tasks' work (or one task's and the target's) would not merge cleanly in `files`. */
export interface ConflictSummary {
  tasks: string[];
  target?: string;
  files: string[];
  detectedAt: string;
}

export interface RunSummary {
  coordinator: { state: CoordinatorState; error: { code: CoordErrorCode; message: string } | null };
  repo: string | null;
  baseCommit: string | null;
  startedAt: string;
  generatedAt: string;
  counts: Record<string, number>;
  workers: Array<{ id: string; worktree: string; restarts: number; state: string; pid: number | null; repairs: number; retired: string | null }>;
  tasks: TaskSummary[];
  rateLimits: RateKeyState[];
  budgets: BudgetScopeState[];
  merge: CoordinationSummary['merge'];
  conflicts: ConflictSummary[];
}

export interface SummaryInput {
  state: CoordinatorState;
  error: { code: CoordErrorCode; message: string } | null;
  repo: Repository | undefined;
  startedAt: string;
  workers: WorkerDescription[];
  tasks: TaskRecord[];
  counts: Record<string, number>;
  usage: Pick<UsageLedger, 'of' | 'sessionOf'>;
  liveness: ReadonlyMap<string, Liveness>;
  taskLogDir: string | null;
  /** Agent tasks' mailboxes, by task id. */
  mailboxes?: ReadonlyMap<string, MailboxSummary>;
  /** Ready tasks held back, by task id (as dispatch last said). */
  holds?: ReadonlyMap<string, HeldTask>;
  coordination?: CoordinationSummary;
  /** A task's merge state (with a merge queue). */
  mergeOf?: (taskId: string) => TaskMerge | null;
}

/** A task's usage over its history plus its running attempt's so far; null when none reported any. */
function usageOf(task: TaskRecord, running: TaskUsage | undefined): TaskUsage | null {
  const starts = [...task.attempts, ...task.released].filter((start) => start.usage !== null);
  if (starts.length === 0 && running === undefined) return null;
  const sum = zeroUsage();
  for (const start of starts) addUsage(sum, start.usage ?? {});
  if (running) addUsage(sum, running);
  return sum;
}

/** The latest session a task's starts recorded (or its running attempt reported). */
function sessionOf(task: TaskRecord, running: string | undefined): AgentSession | null {
  if (task.spec.agent !== undefined && running !== undefined && task.lease !== null) return { agent: task.spec.agent, id: running };
  const starts = [...task.attempts, ...task.released].filter((start) => start.session !== null);
  starts.sort((a, b) => (a.startedAt ?? '').localeCompare(b.startedAt ?? ''));
  return starts.at(-1)?.session ?? null;
}

/** Why a ready task waits, if dispatch holds it back. */
function heldOf(task: TaskRecord, holds: ReadonlyMap<string, HeldTask> | undefined): TaskSummary['held'] {
  const held = task.status === 'ready' ? holds?.get(task.spec.id) : undefined;
  return held === undefined ? null : { code: held.code, scope: held.scope, since: new Date(held.since).toISOString() };
}

/** Builds the summary from the supervisor's current state (and, for `log`, the log files). */
export async function buildSummary(input: SummaryInput): Promise<RunSummary> {
  // The log of the latest attempt that started: one that never did (a hand-over that failed) has none.
  const logFileOf = (task: TaskRecord): string | null => {
    const started = task.attempts.findLast((attempt) => attempt.startedAt !== null);
    return input.taskLogDir && started ? taskLogFile(input.taskLogDir, task.spec.id, started.attempt) : null;
  };
  const logs = await readAllLogFacts(input.tasks.map(logFileOf).filter((file): file is string => file !== null));
  return {
    coordinator: { state: input.state, error: input.error },
    repo: input.repo?.root ?? null,
    baseCommit: input.repo?.baseCommit ?? null,
    startedAt: input.startedAt,
    generatedAt: new Date().toISOString(),
    counts: input.counts,
    workers: input.workers.map((w) => ({ id: w.id, worktree: w.worktree, restarts: w.restarts, state: w.state, pid: w.pid, repairs: w.repairs, retired: w.retired })),
    tasks: input.tasks.map((task) => ({
      id: task.spec.id,
      status: task.status,
      worker: task.worker,
      node: task.attempts.at(-1)?.node ?? null,
      branch: task.branch,
      attempts: task.attempts.length,
      exitCode: task.exitCode,
      startedAt: task.startedAt,
      finishedAt: task.finishedAt,
      error: task.error,
      result: task.result ?? null,
      commit: task.commit,
      logFile: logFileOf(task),
      log: logs.get(logFileOf(task) ?? '') ?? null,
      usage: usageOf(task, input.usage.of(task.spec.id)),
      session: sessionOf(task, input.usage.sessionOf(task.spec.id)),
      liveness: input.liveness.get(task.spec.id) ?? null,
      rateLimitWaits: task.rateLimitWaits,
      releases: task.releases,
      crashReleases: task.crashReleases,
      history: taskHistory(task),
      mailbox: input.mailboxes?.get(task.spec.id) ?? null,
      held: heldOf(task, input.holds),
      merge: input.mergeOf?.(task.spec.id) ?? null,
    })),
    rateLimits: input.coordination?.rateLimits ?? [],
    budgets: input.coordination?.budgets ?? [],
    merge: input.coordination?.merge ?? null,
    conflicts: input.coordination?.conflicts ?? [],
  };
}
