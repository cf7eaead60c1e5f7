/**
 * Typing a delivery into a live interactive session: the worker is asked to type the unread
 * messages if the session has been quiet for the collision policy's window; a busy session
 * defers the delivery (re-checked every `recheckMs`), and past `maxDeferMs` the run is
 * interrupted and the chain hops to resume. The worker answers `coord:input-result`.
 */
import { randomBytes } from 'node:crypto';
import { CoordError } from '../../errors.js';
import { onBusy, type CollisionPolicy } from '../../mailbox/collision.js';
import { resumePrompt } from '../../mailbox/prompts.js';
import type { TriggerJob } from '../../mailbox/types.js';
import type { ParentMessageOf, WorkerMessageOf } from '../../protocol/messages.js';
import type { TaskRecord, TaskStore } from '../../store/task-store.js';
import { describeHops, stepChain, type ChainState } from './chain.js';
import type { Step } from './step.js';

/** How long a worker has to answer `coord:input`. */
const INPUT_ANSWER_MS = 10_000;

export interface LiveDeliveryDeps {
  store: TaskStore;
  now(): number;
  collision(): CollisionPolicy;
  input(workerId: string, message: ParentMessageOf<'coord:input'>): boolean;
  interrupt(taskId: string, lease: string, workerId: string, reason: string): Promise<void>;
  sessionOf(taskId: string): string | undefined;
  /** The chain left `live`: the task runs again by its next route. */
  handOver(job: TriggerJob, task: TaskRecord, chain: ChainState): Promise<Step>;
  exhaust(task: TaskRecord, chain: ChainState): Promise<Step>;
}

export class LiveDelivery {
  private readonly answers = new Map<string, (message: WorkerMessageOf<'coord:input-result'>) => void>();

  constructor(private readonly deps: LiveDeliveryDeps) {}

  /** A worker's answer to `coord:input`. */
  answer(message: WorkerMessageOf<'coord:input-result'>): void {
    this.answers.get(message.inputId)?.(message);
  }

  /** Types the unread messages into the live session, if it is quiet; defers or falls back if not. */
  async step(job: TriggerJob, task: TaskRecord, chain: ChainState): Promise<Step> {
    const { store } = this.deps;
    const now = this.deps.now();
    const live = chain.stage === 'live' ? chain : stepChain(job.chain, { type: 'delivery.start', live: true, at: now, sessionIdleMs: 0, workerCrashLooping: false });
    if (live.stage !== 'live') return this.deps.handOver(job, task, live);
    const thread = await store.mailbox.thread(task.spec.id);
    const unread = (await store.mailbox.messages(task.spec.id, thread?.readSeq ?? 0)).filter((m) => m.seq <= job.uptoSeq);
    if (task.worker === null || task.lease === null) return { patch: { status: 'pending', chain: live.persisted, nextAt: now, releaseLease: true }, outcome: 'waiting', code: 'OK', detail: 'the run ended meanwhile', record: false };
    const answer = await this.ask(task.worker, {
      type: 'coord:input', taskId: task.spec.id, attempt: task.attempts.at(-1)?.attempt ?? 1, lease: task.lease,
      inputId: randomBytes(9).toString('base64url'), text: resumePrompt(unread), quietWindowMs: this.deps.collision().quietWindowMs,
    });
    if (answer === 'gone' || answer === null) {
      // The session ended, or its worker did not answer: look again at once (the run's end decides).
      if (answer === null) throw new CoordError('DELIVERY_FAILED', `worker ${task.worker} did not answer the typed message in ${INPUT_ANSWER_MS} ms`);
      return { patch: { status: 'pending', chain: live.persisted, nextAt: now + 50, releaseLease: true }, outcome: 'waiting', code: 'OK', detail: 'the session is not live any more' };
    }
    if (answer.status === 'typed') {
      await store.mailbox.markRead(task.spec.id, thread?.sessionId ?? null, job.uptoSeq, this.deps.now());
      const done = stepChain(live.persisted, { type: 'attempt.succeeded' });
      return { patch: { status: 'delivered', chain: done.persisted, route: 'live', releaseLease: true }, outcome: 'typed', code: 'OK', detail: `typed into the live session on ${task.worker}` };
    }
    const verdict = onBusy(job.deferredSince, now, this.deps.collision());
    if (verdict.action === 'defer') {
      return {
        patch: { status: 'pending', chain: live.persisted, nextAt: verdict.nextAt, deferredSince: verdict.since, releaseLease: true },
        outcome: 'deferred', code: 'SESSION_BUSY', detail: `busy (quiet for ${answer.quietForMs ?? 0} ms of ${this.deps.collision().quietWindowMs}); re-checked at ${new Date(verdict.nextAt).toISOString()}`,
      };
    }
    // Busy for the whole bound: the run is interrupted and its session resumed with the messages.
    const next = stepChain(live.persisted, { type: 'attempt.failed', code: 'SESSION_BUSY', at: now, sessionIdleMs: 0, workerCrashLooping: false, classification: 'delivery' });
    if (next.stage === 'exhausted') return this.deps.exhaust(task, next);
    const route = next.stage === 'respawn' ? 'respawn' : 'resume';
    const { lease, worker } = task;
    return {
      patch: { status: 'awaiting', chain: next.persisted, route, deferredSince: null, releaseLease: true },
      outcome: 'hopped', code: 'SESSION_BUSY', detail: `still busy after ${verdict.deferredMs} ms: the run is interrupted, ${describeHops(next.hops)}`,
      after: async () => {
        // The interrupted session is the one to resume: it becomes the thread's (its cursor unchanged).
        const session = this.deps.sessionOf(task.spec.id) ?? null;
        if (session !== null) await store.mailbox.markRead(task.spec.id, session, 0, this.deps.now());
        await this.deps.interrupt(task.spec.id, lease, worker, `a message waited ${verdict.deferredMs} ms for the session to be quiet`);
      },
    };
  }

  /** Sends `message` to the worker and waits for its answer (null: none in time). */
  private ask(workerId: string, message: ParentMessageOf<'coord:input'>): Promise<WorkerMessageOf<'coord:input-result'> | 'gone' | null> {
    if (!this.deps.input(workerId, message)) return Promise.resolve('gone');
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.answers.delete(message.inputId);
        resolve(null);
      }, INPUT_ANSWER_MS);
      this.answers.set(message.inputId, (answer) => {
        clearTimeout(timer);
        this.answers.delete(message.inputId);
        resolve(answer.status === 'gone' ? 'gone' : answer);
      });
    });
  }
}
