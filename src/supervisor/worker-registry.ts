/**
 * The supervisor's view of its worker actors: which are idle (assignable), which died, and
 * a small description for `status()` and the summary. It watches each worker actor's
 * snapshots; it never changes a worker itself except by sending it events.
 */
import type { ActorRefFrom, Subscription } from 'xstate';
import type { ProcessExit, TaskLease, TaskResultMessage, workerMachine } from '../../machines/worker.js';
import type { ParentMessageOf } from '../protocol/messages.js';
import type { WorkerSlot } from '../pool/assign.js';
import type { WorkerPool } from './worker-pool.js';

type WorkerRef = ActorRefFrom<typeof workerMachine>;

/** One worker as reported in `status()` and the run summary. */
export interface WorkerDescription {
  id: string;
  worktree: string;
  state: string;
  pid: number | null;
  restarts: number;
  task: string | null;
  exit: { code: number | null; signal: string | null } | null;
  /** Times its worktree was found broken and rebuilt. */
  repairs: number;
  /** Why it was taken out of service (its worktree could not be prepared), or null. */
  retired: string | null;
  /** Scaled away: it stops once its task (if any) is done, and then leaves the list. */
  leaving: boolean;
}

interface Watchers {
  onIdle(workerId: string): void;
  onFailed(workerId: string, exit: ProcessExit | null): void;
  /** The worker machine emitted a current result for the task it held. */
  onResult(workerId: string, message: TaskResultMessage): void;
  /** The worker's process died holding `task` (`hung`: killed for missing heartbeats). */
  onLost(workerId: string, task: TaskLease, exit: ProcessExit, hung: boolean): void;
}

export class WorkerRegistry implements WorkerPool {
  private readonly entries = new Map<string, { ref: WorkerRef; subscriptions: Subscription[]; failedReported: boolean }>();
  private readonly repairs = new Map<string, number>();
  private readonly retired = new Map<string, string>();
  private readonly retiredListeners: Array<(workerId: string) => void> = [];
  /** Workers scaled away, and whether they were asked to stop yet. */
  private readonly leaving = new Map<string, { stopSent: boolean }>();
  private readonly goneListeners: Array<(workerId: string) => void> = [];
  /** Per worker, the lease of the last attempt it was given with `workspace: none` (a later assign replaces it). */
  private readonly withoutWorkspace = new Map<string, string>();

  /** Starts watching worker actors that appeared in the coordinator's context. */
  sync(workers: ReadonlyArray<{ workerId: string; ref: WorkerRef }>, watchers: Watchers): void {
    for (const { workerId, ref } of workers) {
      if (this.entries.has(workerId)) continue;
      const entry = { ref, subscriptions: [] as Subscription[], failedReported: false };
      this.entries.set(workerId, entry);
      // Emitted events arrive after the worker's transition, before its observers hear of it.
      entry.subscriptions.push(
        ref.on('task.result', (event) => watchers.onResult(event.workerId, event.message)),
        ref.on('task.lost', (event) => watchers.onLost(event.workerId, event.task, event.exit, event.hung)),
        ref.subscribe((snapshot) => {
          if (this.leaving.has(workerId)) {
            this.stopIfFree(workerId, ref);
            if (snapshot.status === 'done') this.forget(workerId);
            return;
          }
          if (snapshot.value === 'idle') watchers.onIdle(workerId);
          if (snapshot.value === 'failed' && !entry.failedReported) {
            entry.failedReported = true;
            watchers.onFailed(workerId, snapshot.context.exit);
          }
        }),
      );
    }
  }

  /** Assignable workers and their capabilities (workers scaled away are not among them). */
  slots(): WorkerSlot[] {
    return [...this.entries.entries()].flatMap(([workerId, { ref }]) => {
      if (this.leaving.has(workerId)) return [];
      const snapshot = ref.getSnapshot();
      return [{ workerId, capabilities: snapshot.context.capabilities, idle: snapshot.value === 'idle' && !this.retired.has(workerId) }];
    });
  }

  /** The workers that count towards the worker count: not scaled away, not retired, not failed. */
  serving(): string[] {
    return [...this.entries.keys()].filter((id) => !this.leaving.has(id) && !this.retired.has(id) && !this.gone(id));
  }

  /** Every worker id in use, including those still stopping after a scale-down. */
  ids(): string[] {
    return [...this.entries.keys()];
  }

  /**
   * Scales a worker away: it takes no new task, is asked to stop once it holds none, and once
   * stopped leaves the registry (then `onGone` listeners hear of it).
   */
  dismiss(workerId: string): void {
    const entry = this.entries.get(workerId);
    if (!entry || this.leaving.has(workerId)) return;
    this.leaving.set(workerId, { stopSent: false });
    this.stopIfFree(workerId, entry.ref);
    if (entry.ref.getSnapshot().status === 'done') this.forget(workerId);
  }

  /** Calls `listener` when a dismissed worker has stopped and left. */
  onGone(listener: (workerId: string) => void): void {
    this.goneListeners.push(listener);
  }

  private stopIfFree(workerId: string, ref: WorkerRef): void {
    const leaving = this.leaving.get(workerId);
    const snapshot = ref.getSnapshot();
    if (!leaving || leaving.stopSent || snapshot.status !== 'active' || snapshot.value === 'busy') return;
    leaving.stopSent = true;
    ref.send({ type: 'worker.stop' });
  }

  private forget(workerId: string): void {
    const entry = this.entries.get(workerId);
    if (!entry) return;
    this.entries.delete(workerId);
    this.leaving.delete(workerId);
    this.repairs.delete(workerId);
    this.retired.delete(workerId);
    this.withoutWorkspace.delete(workerId);
    for (const subscription of entry.subscriptions) subscription.unsubscribe();
    for (const listener of this.goneListeners) listener(workerId);
  }

  /** Gives the worker a task if it is idle right now. */
  assign(workerId: string, message: ParentMessageOf<'coord:assign'>): boolean {
    const ref = this.entries.get(workerId)?.ref;
    if (ref?.getSnapshot().value !== 'idle') return false;
    if (message.workspace === 'none') this.withoutWorkspace.set(workerId, message.lease);
    else this.withoutWorkspace.delete(workerId);
    ref.send({ type: 'task.assign', message });
    return ref.getSnapshot().value === 'busy';
  }

  /** Asks the worker to stop `taskId`'s attempt (`graceful`: the first signal to its processes, SIGTERM by default). */
  cancel(workerId: string, taskId: string, reason: string, graceful: 'SIGTERM' | 'SIGINT' = 'SIGTERM'): void {
    const ref = this.entries.get(workerId)?.ref;
    if (ref?.getSnapshot().context.task?.taskId === taskId) ref.send({ type: 'task.cancel', reason, graceful });
  }

  /** Tells the worker running `message.taskId` of a predicted conflict; false when it does not run it. */
  notify(workerId: string, message: ParentMessageOf<'coord:conflict'>): boolean {
    const ref = this.entries.get(workerId)?.ref;
    if (!ref || ref.getSnapshot().context.task?.taskId !== message.taskId) return false;
    ref.send({ type: 'task.notify', message });
    return true;
  }

  /** The tasks the workers hold now whose work is in their worktree (not those with `workspace: none`), with that worktree. */
  running(): Array<{ workerId: string; taskId: string; worktree: string }> {
    return [...this.entries.entries()].flatMap(([workerId, { ref }]) => {
      const { task, worktree } = ref.getSnapshot().context;
      return task === null || this.withoutWorkspace.get(workerId) === task.lease ? [] : [{ workerId, taskId: task.taskId, worktree }];
    });
  }

  /** Sends a message for the worker's live session; false when it does not hold that attempt. */
  input(workerId: string, message: ParentMessageOf<'coord:input'>): boolean {
    const ref = this.entries.get(workerId)?.ref;
    const held = ref?.getSnapshot().context.task;
    if (!ref || held?.taskId !== message.taskId || held.lease !== message.lease) return false;
    ref.send({ type: 'task.input', message });
    return true;
  }

  /** Counts a rebuild of the worker's worktree. */
  countRepair(workerId: string): void {
    this.repairs.set(workerId, (this.repairs.get(workerId) ?? 0) + 1);
  }

  /**
   * Takes the worker out of service for the rest of the run (its worktree cannot be made
   * usable): it is stopped and never restarted. Resolves true the first time.
   */
  retire(workerId: string, reason: string): boolean {
    const ref = this.entries.get(workerId)?.ref;
    if (!ref || this.retired.has(workerId)) return false;
    this.retired.set(workerId, reason);
    ref.send({ type: 'worker.stop' });
    for (const listener of this.retiredListeners) listener(workerId);
    return true;
  }

  /** Calls `listener` when a worker is taken out of service. */
  onRetired(listener: (workerId: string) => void): void {
    this.retiredListeners.push(listener);
  }

  /** Two or more restarts within the worker's restart period: a crash loop. */
  crashLooping(workerId: string): boolean {
    const context = this.entries.get(workerId)?.ref.getSnapshot().context;
    if (!context) return false;
    const latest = context.restartTimes.at(-1) ?? 0;
    return context.restartTimes.filter((at) => latest - at < context.restartPolicy.periodMs).length >= 2;
  }

  /** The worker is failed or exited: it will never take a task again. */
  gone(workerId: string): boolean {
    const snapshot = this.entries.get(workerId)?.ref.getSnapshot();
    return snapshot === undefined || snapshot.status === 'done';
  }

  describe(): WorkerDescription[] {
    return [...this.entries.entries()].map(([id, { ref }]) => {
      const snapshot = ref.getSnapshot();
      const { context } = snapshot;
      return {
        id,
        worktree: context.worktree,
        state: typeof snapshot.value === 'string' ? snapshot.value : Object.keys(snapshot.value)[0] ?? 'unknown',
        pid: context.pid,
        restarts: context.restarts,
        task: context.task?.taskId ?? null,
        exit: context.exit,
        repairs: this.repairs.get(id) ?? 0,
        retired: this.retired.get(id) ?? null,
        leaving: this.leaving.has(id),
      };
    });
  }
}
