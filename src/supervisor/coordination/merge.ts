/**
 * The merge queue at work in a run (the engine is src/merge/): every task that completes here
 * enters it with its branch (dependencies first, then completion order); each verdict is kept
 * in the store (so a restart neither merges a branch twice nor forgets a failure), announced
 * (`coord:merged`, `coord:merge-failed`) and, with `onFailure: requeue`, sent to the agent as
 * a message with the test output, so its task runs again on its branch and comes back.
 *
 * The run is not settled while the queue has work: a batch run ends with the target holding
 * every branch that passed.
 */
import path from 'node:path';
import type { Logger } from '../../log/logger.js';
import { MergeQueue } from '../../merge/merge-queue.js';
import type { MergeSettings, MergeState } from '../../merge/types.js';
import type { TaskRecord, TaskStore } from '../../store/task-store.js';
import type { SupervisorEventBus } from '../events.js';

/** The `merge` option. */
export interface MergeOptions extends MergeSettings {
  onFailure: 'report' | 'requeue';
}

/** A task's merge state as the summary has it. */
export type TaskMerge = Pick<MergeState, 'status' | 'commit' | 'logFile' | 'files' | 'error'>;

/** What the queue keeps in the store: its state, and the task commit it is about. */
type Stored = MergeState & { taskCommit: string };

export interface MergeDeps {
  options: MergeOptions;
  repoRoot: string;
  /** The queue's folder (merge worktree, test logs): `<state-dir>/merge`. */
  dir: string;
  nodeId: string;
  store: TaskStore;
  events: SupervisorEventBus;
  logger: Logger;
  now(): number;
  /** Posts a message into an agent task's mailbox (requeue); rejects when the task takes none. */
  post(taskId: string, text: string, meta: Record<string, unknown>): Promise<void>;
  /** The queue went idle: the run may be settled. */
  changed(): void;
}

/** How often a queue paused on a dirty target checkout looks again. */
const DIRTY_RECHECK_MS = 30_000;

export class MergeDesk {
  private readonly queue: MergeQueue;
  private readonly states = new Map<string, Stored>();
  /** The commit each queued task was enqueued at. */
  private readonly queuedAt = new Map<string, string>();
  private readonly recheck: NodeJS.Timeout;

  constructor(private readonly deps: MergeDeps) {
    this.queue = new MergeQueue({
      repoRoot: deps.repoRoot, dir: deps.dir, settings: deps.options, logger: deps.logger, now: deps.now,
      onChange: (taskId, state) => this.changed(taskId, state),
    });
    this.recheck = setInterval(() => {
      if ([...this.states.values()].some((s) => s.status === 'pending' && s.error?.code === 'MERGE_TARGET_DIRTY')) this.queue.retry();
    }, DIRTY_RECHECK_MS);
    this.recheck.unref();
  }

  /** Reads the verdicts the store holds and queues this node's completed tasks that have none for their commit. */
  async open(tasks: readonly TaskRecord[]): Promise<void> {
    for (const row of await this.deps.store.ledger.merges()) this.states.set(row.taskId, row.state as unknown as Stored);
    const done = tasks
      .filter((task) => task.status === 'complete' && task.commit !== null && task.attempts.at(-1)?.node === this.deps.nodeId)
      .sort((a, b) => (a.finishedAt ?? '').localeCompare(b.finishedAt ?? ''));
    for (const task of done) {
      const stored = this.states.get(task.spec.id);
      if (stored !== undefined && stored.taskCommit === task.commit && stored.status !== 'pending') continue;
      this.enqueue(task);
    }
  }

  /** A task completed: its branch enters the queue (again, if it ran again). */
  completed(task: TaskRecord): void {
    if (task.status === 'complete' && task.commit !== null) this.enqueue(task);
  }

  /** True when nothing is queued or being tested. */
  idle(): boolean {
    return this.queue.idle();
  }

  /** The task's merge state, or null when it never entered the queue. */
  state(taskId: string): TaskMerge | null {
    const state = this.states.get(taskId);
    if (state === undefined) return null;
    return {
      status: state.status, commit: state.commit, logFile: state.logFile,
      ...(state.files === undefined ? {} : { files: state.files }), ...(state.error === undefined ? {} : { error: state.error }),
    };
  }

  /** The target and how many branches stand where, for status and the summary. */
  summary(): { target: string; counts: Record<string, number> } {
    const counts: Record<string, number> = { pending: 0, merged: 0, conflict: 0, 'test-failed': 0 };
    for (const state of this.states.values()) counts[state.status] = (counts[state.status] ?? 0) + 1;
    return { target: this.deps.options.target, counts };
  }

  async close(): Promise<void> {
    clearInterval(this.recheck);
    await this.queue.close();
  }

  private enqueue(task: TaskRecord): void {
    const commit = task.commit as string;
    this.queuedAt.set(task.spec.id, commit);
    this.queue.enqueue({ taskId: task.spec.id, branch: task.branch, commit, deps: task.spec.deps });
    void this.queue.whenIdle().then(() => this.deps.changed());
  }

  private async changed(taskId: string, state: MergeState): Promise<void> {
    const { events, logger, options } = this.deps;
    const stored: Stored = { ...state, taskCommit: this.queuedAt.get(taskId) ?? '' };
    this.states.set(taskId, stored);
    await this.deps.store.ledger.setMerge(taskId, state.status, stored as unknown as Record<string, unknown>, this.deps.now());
    if (state.status === 'merged') {
      logger.info({ taskId, commit: state.commit, target: options.target }, `merged into ${options.target}`);
      events.emit('coord:merged', { taskId, target: options.target, commit: state.commit });
      return;
    }
    if (state.error === undefined) return; // queued, or waiting for a dependency to merge
    const failure = { taskId, target: options.target, status: state.status, code: state.error.code, message: state.error.message, files: state.files ?? [], logFile: state.logFile };
    logger.warn(failure, `not merged into ${options.target}: ${state.error.message}`);
    events.emit('coord:merge-failed', failure);
    if (options.onFailure === 'requeue' && state.status !== 'pending') await this.requeue(taskId, state);
  }

  /** Sends the failure to the agent: the message runs its task again on its branch, and it comes back here. */
  private async requeue(taskId: string, state: MergeState): Promise<void> {
    const why = state.status === 'conflict'
      ? `Your branch conflicts with ${this.deps.options.target} in: ${(state.files ?? []).join(', ')}. Rebase or merge ${this.deps.options.target} into your branch, resolve the conflicts and commit.`
      : `The merge queue's test (${this.deps.options.test.join(' ')}) failed on your branch merged with ${this.deps.options.target}. Fix it and commit.\n\nThe last lines it printed:\n${(state.outputTail ?? []).join('\n')}`;
    const logFile = state.logFile === null ? null : path.resolve(state.logFile);
    try {
      await this.deps.post(taskId, why, { status: state.status, code: state.error?.code ?? null, logFile, files: state.files ?? [] });
    } catch (error) {
      this.deps.logger.info({ taskId, err: error }, 'the merge failure could not be sent to the task (only agent tasks take messages): reported only');
    }
  }
}
