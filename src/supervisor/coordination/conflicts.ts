/**
 * Conflict prediction at work in a run (the engine is src/coordination/conflict-watch.ts):
 * every `conflictCheckMs` while tasks run, and whenever a task branch gets a commit, the live
 * branches — each running task's worktree (its commits and uncommitted work), and with a
 * merge queue each task finished here but not merged yet — are checked pairwise and against
 * the merge target, recomputing only the pairs where a side changed. A new conflict is announced (`coord:conflict`), told to
 * the workers running either task (`coord:conflict` over IPC) and posted to each agent task's
 * mailbox; the current ones are in the summary and status.
 */
import { ConflictWatcher, type Conflict, type LiveBranch } from '../../coordination/conflict-watch.js';
import { runGit } from '../../git/run-git.js';
import type { Logger } from '../../log/logger.js';
import type { ParentMessageOf } from '../../protocol/messages.js';
import type { SupervisorEventBus } from '../events.js';
import type { ConflictSummary } from '../summary.js';
import type { Tracker } from '../tracker.js';

export interface ConflictDeps {
  repoRoot: string;
  /** Temporary index files: `<state-dir>/conflicts`. */
  scratchDir: string;
  /** The merge target, also checked against (null: none). */
  target: string | null;
  /** How often while tasks run (null: only when a branch gets a commit). */
  intervalMs: number | null;
  events: SupervisorEventBus;
  logger: Logger;
  tracker: Tracker;
  now(): number;
  /** The tasks running now, and their worktrees. */
  running(): Array<{ workerId: string; taskId: string; worktree: string }>;
  /** Tells a worker of its task's predicted conflicts. */
  notify(workerId: string, message: ParentMessageOf<'coord:conflict'>): void;
  /** Posts into an agent task's mailbox (rejects for a task that takes no messages). */
  post(taskId: string, text: string, meta: Record<string, unknown>): Promise<void>;
  /**
   * With a merge queue: true when the task's branch is merged (until then a finished branch
   * stays live). Null without one: only running tasks are live (a finished branch nobody will
   * merge has nothing to collide with).
   */
  merged: ((taskId: string) => boolean) | null;
}

export class ConflictMonitor {
  private readonly watcher: ConflictWatcher;
  /** Tasks finished here whose branch is not merged yet: their last commit. */
  private readonly finished = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private queued = false;
  private stopped = false;

  constructor(private readonly deps: ConflictDeps) {
    this.watcher = new ConflictWatcher({ repoRoot: deps.repoRoot, scratchDir: deps.scratchDir, target: deps.target, now: deps.now, concurrency: 2 });
  }

  /** Starts the periodic check (it runs only while tasks run). */
  start(): void {
    if (this.deps.intervalMs === null) return;
    this.timer = setInterval(() => {
      if (this.deps.running().length > 0) this.check();
    }, this.deps.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  /** A task's branch got a commit (it completed): with a merge queue it stays live until merged; check now. */
  completed(taskId: string, commit: string | null): void {
    if (this.deps.merged === null) return;
    if (commit !== null) this.finished.set(taskId, commit);
    this.check();
  }

  /** A task left the picture (merged, cancelled, dead). */
  forget(taskId: string): void {
    this.finished.delete(taskId);
  }

  /** The conflicts of the last check. */
  current(): ConflictSummary[] {
    return this.watcher.current().map(summaryOf);
  }

  /** Runs a check soon; calls while one is queued are one check. */
  check(): void {
    if (this.queued || this.stopped) return;
    this.queued = true;
    setImmediate(() => {
      this.queued = false;
      this.deps.tracker.run('a conflict check', this.run().catch((error: unknown) => {
        this.deps.logger.warn({ err: error }, 'the conflict check failed; the next one tries again');
      }));
    });
  }

  private async run(): Promise<void> {
    const branches = await this.branches();
    const result = await this.watcher.check(branches);
    if (result.pairsComputed > 0) this.deps.logger.debug({ branches: branches.length, pairs: result.pairsComputed, current: result.current.length }, 'conflict check');
    for (const conflict of result.found) this.announce(conflict);
    for (const conflict of result.resolved) {
      this.deps.logger.info({ tasks: conflict.tasks, target: conflict.target ?? null }, 'a predicted conflict is gone');
    }
  }

  /** The running tasks' worktrees (at their HEAD) and the finished, unmerged branches. */
  private async branches(): Promise<LiveBranch[]> {
    const live = new Map<string, LiveBranch>();
    for (const [taskId, commit] of this.finished) {
      if (this.deps.merged?.(taskId) !== false) this.finished.delete(taskId);
      else live.set(taskId, { taskId, commit, worktree: null });
    }
    await Promise.all(this.deps.running().map(async ({ taskId, worktree }) => {
      // The worker may be between tasks: a worktree that cannot say its HEAD is left out this time.
      const head = await runGit(['rev-parse', '--verify', '--quiet', 'HEAD'], { cwd: worktree, okExitCodes: [0, 1] }).catch(() => null);
      const commit = head?.exitCode === 0 ? head.stdout.trim() : null;
      if (commit !== null) live.set(taskId, { taskId, commit, worktree });
    }));
    return [...live.values()];
  }

  private announce(conflict: Conflict): void {
    const { events, logger } = this.deps;
    const summary = summaryOf(conflict);
    logger.warn(summary, conflict.target === undefined ? `predicted conflict between ${conflict.tasks.join(' and ')}` : `predicted conflict between ${conflict.tasks[0]} and ${conflict.target}`);
    events.emit('coord:conflict', summary);
    const running = this.deps.running();
    for (const taskId of conflict.tasks) {
      const others = conflict.tasks.filter((id) => id !== taskId);
      const worker = running.find((r) => r.taskId === taskId);
      if (worker !== undefined && others.length > 0) {
        this.deps.notify(worker.workerId, { type: 'coord:conflict', requestId: null, taskId, conflicts: others.map((other) => ({ taskId: other, files: conflict.files })) });
      }
      const withWhat = others.length > 0 ? `task ${others.join(', ')}` : `the merge target ${conflict.target ?? ''}`;
      const text = `coord predicts that your work conflicts with ${withWhat} in: ${conflict.files.join(', ')}. Coordinate the change (keep to your part of these files) or rebase once it lands.`;
      this.deps.post(taskId, text, { tasks: conflict.tasks, files: conflict.files, ...(conflict.target === undefined ? {} : { target: conflict.target }) }).catch(() => undefined);
    }
  }
}

function summaryOf(conflict: Conflict): ConflictSummary {
  return {
    tasks: [...conflict.tasks], ...(conflict.target === undefined ? {} : { target: conflict.target }), files: [...conflict.files],
    detectedAt: new Date(conflict.detectedAt).toISOString(),
  };
}
