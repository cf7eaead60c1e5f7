/**
 * Recovery for deliveries left `awaiting` a run whose end no supervisor saw (one stopped
 * between the run's end and the job's update): a completion after the hand-over delivered
 * them, a task still finished from before the hand-over is reopened again, a cancelled task
 * or a dead run ends the job. Only jobs and tasks left alone for longer than `graceMs` (a
 * claim's length): the supervisor that ran the run settles it within moments, and must not be raced.
 */
import type { TriggerJob } from '../../mailbox/types.js';
import type { TaskStore } from '../../store/task-store.js';
import { dead, type Step } from './step.js';

export interface SweepDeps {
  store: TaskStore;
  now(): number;
  graceMs: number;
  /** Writes `step` on `job` if it still awaits its run. */
  apply(job: TriggerJob, step: Step): Promise<unknown>;
  /** There may be work to dispatch. */
  changed(): Promise<void>;
}

export async function sweepAwaiting(deps: SweepDeps): Promise<void> {
  const { store, graceMs } = deps;
  const now = deps.now();
  for (const job of await store.mailbox.awaiting()) {
    if (now - job.updatedAt < graceMs) continue;
    const task = await store.get(job.taskId);
    if (!task || (task.status !== 'complete' && task.status !== 'dead' && task.status !== 'cancelled')) continue;
    const finishedAt = task.finishedAt === null ? 0 : Date.parse(task.finishedAt);
    if (now - finishedAt < graceMs) continue;
    if (task.status === 'cancelled') {
      await deps.apply(job, dead(`task "${job.taskId}" was cancelled`, 'TASK_STATE_CONFLICT'));
    } else if (finishedAt <= job.updatedAt) {
      await store.reopen(job.taskId, `delivering messages up to ${job.uptoSeq} (${job.route ?? 'resume'}, again)`, deps.now());
      void deps.changed();
    } else if (task.status === 'complete') {
      await store.mailbox.markRead(job.taskId, task.attempts.at(-1)?.session?.id ?? null, job.uptoSeq, deps.now());
      await deps.apply(job, { patch: { status: 'delivered' }, outcome: 'recovered', code: 'OK', detail: 'the run completed while no supervisor watched it' });
    } else {
      await deps.apply(job, dead(`the delivering run ended ${task.error?.code ?? 'dead'} while no supervisor watched it`, task.error?.code ?? 'DELIVERY_FAILED'));
    }
  }
}
