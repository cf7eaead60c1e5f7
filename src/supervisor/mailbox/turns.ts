/**
 * Where the mailbox meets a task's runs. A turn is one agent result: each completion of an
 * agent task is judged by the loop safeguards (loop-guard.ts) before it is stored, and ends a
 * turn of its thread (its session becomes the current one). A run that delivers messages —
 * the task reopened for a trigger job that is `awaiting` it — is given its prompt at the
 * hand-over (the unread messages with the session to resume, or a thread summary for a fresh
 * session) and settles that job when it ends: delivered on success; on failure, the next hop
 * of the job's chain (the task runs again) or, when every route failed, dead with
 * `DELIVERY_EXHAUSTED`. Such a failure is never retried by the retry policy: the chain decides.
 */
import type { AgentProfileConfig } from '../../agents/profiles.js';
import type { CoordErrorCode } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import { judgeTurn, type LoopLimits } from '../../mailbox/loop-guard.js';
import { resumePrompt, threadSummaryPrompt } from '../../mailbox/prompts.js';
import { NO_LOOP, type LoopState, type TriggerJob } from '../../mailbox/types.js';
import type { TaskError, TaskRecord, TaskStore } from '../../store/task-store.js';
import type { TurnDirective } from '../dispatch/assign-message.js';
import type { SupervisorEventBus } from '../events.js';
import { describeHops, stepChain, type ChainState } from './chain.js';
import type { Deliveries } from './deliveries.js';

export interface TurnDeps {
  store: TaskStore;
  deliveries: Deliveries;
  events: SupervisorEventBus;
  logger: Logger;
  limits: () => LoopLimits;
  agents(): Readonly<Record<string, AgentProfileConfig>>;
  now(): number;
}

/** What the loop safeguards decided about a completion, before it is stored. */
export interface TurnJudgement {
  hold: TaskError | null;
  loop: LoopState;
}

/** A delivering run's failure, as it is to be stored instead of the worker's. */
export interface RoutedFailure {
  code: CoordErrorCode;
  message: string;
  retryable: false;
}

export class Turns {
  /** The chain step each delivering run's failure took, between its store write and the job's. */
  private readonly failing = new Map<string, { job: TriggerJob; next: ChainState; code: CoordErrorCode }>();

  constructor(private readonly deps: TurnDeps) {}

  /** The prompt (and session) of the next run of `task` when it delivers messages; null for an ordinary run. */
  async directive(task: TaskRecord): Promise<TurnDirective | null> {
    if (task.spec.agent === undefined) return null;
    const { mailbox } = this.deps.store;
    const job = await mailbox.openTriggerOf(task.spec.id);
    if (job?.status !== 'awaiting') return null;
    const thread = await mailbox.thread(task.spec.id);
    if (job.route === 'resume' && thread?.sessionId != null) {
      const unread = (await mailbox.messages(task.spec.id, thread.readSeq)).filter((m) => m.seq <= job.uptoSeq);
      return { prompt: resumePrompt(unread), resume: thread.sessionId };
    }
    const all = (await mailbox.messages(task.spec.id)).filter((m) => m.seq <= job.uptoSeq);
    const lastResult = typeof task.result === 'string' ? task.result : task.result == null ? null : JSON.stringify(task.result);
    return { prompt: threadSummaryPrompt({ id: task.spec.id, prompt: task.spec.prompt ?? '', lastResult }, all), resume: null };
  }

  /** Judges a completing agent run (a turn) by the loop safeguards; the hold, if any, is stored with it. */
  async judge(task: TaskRecord, turn: { commit: string | null; result: unknown }): Promise<TurnJudgement | null> {
    if (task.spec.agent === undefined) return null;
    const thread = await this.deps.store.mailbox.thread(task.spec.id);
    const finding = typeof turn.result === 'string' ? turn.result : null;
    const verdict = judgeTurn(thread?.loop ?? NO_LOOP, { commit: turn.commit, finding }, this.deps.limits());
    return { loop: verdict.state, hold: verdict.block === null ? null : { code: verdict.block.code, message: verdict.block.message, details: { turns: verdict.state.turns } } };
  }

  /** A completed agent run was stored: its turn ends, and the delivery it made (if any) is done. */
  async completed(taskId: string, sessionId: string | null, judgement: TurnJudgement): Promise<void> {
    const { store, deliveries, now } = this.deps;
    await store.mailbox.endTurn(taskId, { sessionId, loop: judgement.loop }, now());
    if (judgement.hold) {
      this.deps.logger.warn({ taskId, code: judgement.hold.code, reason: judgement.hold.message }, 'blocked by a loop safeguard');
      this.deps.events.emit('coord:blocked', { taskId, error: judgement.hold });
    }
    const job = await store.mailbox.openTriggerOf(taskId);
    if (job?.status === 'awaiting') {
      await store.mailbox.markRead(taskId, sessionId, job.uptoSeq, now());
      const done = stepChain(job.chain, { type: 'attempt.succeeded' });
      await deliveries.apply(job, { expect: 'awaiting' }, {
        patch: { status: 'delivered', chain: done.persisted }, outcome: 'delivered', code: 'OK',
        detail: `${job.route ?? 'resume'} run completed${sessionId ? ` in session ${sessionId}` : ''}`,
      });
    }
    deliveries.poke();
  }

  /**
   * A delivering run failed: its chain takes the next hop, and the failure is stored as not
   * retryable (the hop decides what runs next); null for a run that delivers nothing.
   */
  async route(task: TaskRecord, failure: { code: CoordErrorCode; message: string; at: number; workerCrashLooping: boolean }): Promise<RoutedFailure | null> {
    const job = await this.deps.store.mailbox.openTriggerOf(task.spec.id);
    if (job?.status !== 'awaiting') return null;
    const next = stepChain(job.chain, { type: 'attempt.failed', code: failure.code, at: failure.at, sessionIdleMs: 0, workerCrashLooping: failure.workerCrashLooping, classification: 'delivery' });
    this.failing.set(task.spec.id, { job, next, code: failure.code });
    if (next.stage === 'exhausted') {
      return { code: 'DELIVERY_EXHAUSTED', message: `every delivery route failed: ${describeHops(next.hops)}; last: ${failure.message}`, retryable: false };
    }
    return { code: failure.code, message: `${failure.message} (delivery goes on: ${next.stage})`, retryable: false };
  }

  /** After {@link route}'s failure was stored: the task runs again by the next route, or the delivery is dead. */
  async failed(task: TaskRecord): Promise<void> {
    const pending = this.failing.get(task.spec.id);
    if (!pending) return;
    this.failing.delete(task.spec.id);
    const { job, next, code } = pending;
    const { deliveries } = this.deps;
    if (next.stage === 'exhausted') {
      await deliveries.apply(job, { expect: 'awaiting' }, await deliveries.exhaust(task, next));
      return;
    }
    const route = next.stage === 'respawn' ? 'respawn' : 'resume';
    // The job names the new route before the task is ready again, so the next hand-over reads it.
    await deliveries.apply(job, { expect: 'awaiting' }, {
      patch: { status: 'awaiting', chain: next.persisted, route }, outcome: 'hopped', code, detail: describeHops(next.hops),
    });
    await this.deps.store.reopen(task.spec.id, `delivering messages up to ${job.uptoSeq} (${route}, after ${code})`, this.deps.now());
  }
}
