/**
 * Deliveries: how unread messages reach an agent. Reconciliation finds threads whose latest
 * message is past their session's read cursor and opens one trigger job per thread (at most
 * one open per task, so repeating it creates nothing); it runs on every post and run end, and
 * every `pollMs` as a fallback. Due jobs are claimed under a lease (two supervisors never work
 * one job at once) and each try takes one step of the job's fallback chain, recorded with a
 * reason code:
 *
 * - the task's session is live and interactive → typed in once it has been quiet for
 *   `quietWindowMs` (else deferred, re-checked every `recheckMs`, and after `maxDeferMs` the
 *   run is interrupted and the chain hops to resume);
 * - a one-shot run is in progress, or the task has not run yet → it waits for the run's end;
 * - the session ended → the task runs again (`reopen`), resuming the session with the messages
 *   as its prompt (at most `maxResumes` times), then in a fresh session with a thread summary;
 *   the job is `awaiting` that run, whose end (turns.ts) delivers it or hops again;
 * - every route failed → the task is dead with `DELIVERY_EXHAUSTED` and the hops.
 *
 * Tries that fail for coord's own reasons (a store error, a worker gone mid-typing) are
 * retried with backoff up to `maxTries`, then the job is dead, visibly (status, events, log).
 */
import { randomBytes } from 'node:crypto';
import { resolveProfile, supportsResume, type AgentProfileConfig } from '../../agents/profiles.js';
import { CoordError, toCoordError, type CoordErrorCode } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import type { MailMessage, MessageSource, TriggerJob, TriggerPatch } from '../../mailbox/types.js';
import type { ParentMessageOf, WorkerMessageOf } from '../../protocol/messages.js';
import type { TaskRecord, TaskStore } from '../../store/task-store.js';
import type { SupervisorEventBus } from '../events.js';
import type { ResolvedOptions } from '../options.js';
import { describeHops, newChain, readChain, stepChain, type ChainState } from './chain.js';
import { LiveDelivery } from './live-delivery.js';
import { dead, type Step } from './step.js';
import { sweepAwaiting } from './sweep.js';
import { closedToMessages, postMessage } from './operator.js';


/** Codes of a run ending that say its session keeps crashing. */
const CRASH_CODES: ReadonlySet<CoordErrorCode> = new Set(['WORKER_CRASHED', 'TASK_EXIT_NONZERO', 'AGENT_FAILED', 'TASK_TIMEOUT', 'WORKER_HUNG']);
/** How long a claim on a job lasts: one try is a few seconds at most. */
const CLAIM_MS = 30_000;
/** A job for a task a safeguard blocked waits for the override; this is how often it is looked at anyway. */
const PARKED_MS = 3_600_000;

export interface DeliveryDeps {
  store: TaskStore;
  events: SupervisorEventBus;
  logger: Logger;
  nodeId: string;
  config: ResolvedOptions['mailbox'];
  agents(): Readonly<Record<string, AgentProfileConfig>>;
  /** Types into a worker's live session (false: it does not hold that attempt). */
  input(workerId: string, message: ParentMessageOf<'coord:input'>): boolean;
  /** Interrupts a running attempt so that its session can be resumed: released unburnt, its worker told to stop it. */
  interrupt(taskId: string, lease: string, workerId: string, reason: string): Promise<void>;
  /** The session a running attempt reported so far (to resume it after an interrupt). */
  sessionOf(taskId: string): string | undefined;
  /** There may be work to dispatch. */
  changed(): Promise<void>;
  /** Hands a storage fault to the run's fault stop (src/supervisor/fault-stop.ts); true when `error` was one. */
  fault(error: unknown): boolean;
  now(): number;
}


export class Deliveries {
  private readonly live: LiveDelivery;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private again = false;
  private stopped = false;

  constructor(private readonly deps: DeliveryDeps) {
    this.live = new LiveDelivery({
      ...deps,
      collision: () => deps.config,
      handOver: (job, task, chain) => this.handOver(job, task, chain),
      exhaust: (task, chain) => this.exhaust(task, chain),
    });
  }

  /** Starts the polling fallback. */
  start(): void {
    this.arm(0);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** Adds a message to an agent task's thread (see {@link postMessage}) and starts its delivery. */
  async post(taskId: string, text: unknown, source: MessageSource = 'operator', meta: Record<string, unknown> | null = null): Promise<MailMessage> {
    const message = await postMessage(this.deps.store, taskId, text, { source, meta, maxBytes: this.deps.config.maxMessageBytes, now: this.deps.now() });
    this.deps.logger.info({ taskId, seq: message.seq, source, bytes: Buffer.byteLength(message.text) }, 'message posted');
    this.deps.events.emit('coord:message', { taskId, seq: message.seq, source });
    this.poke();
    return message;
  }

  /** A worker's answer to `coord:input`. */
  inputResult(message: WorkerMessageOf<'coord:input-result'>): void {
    this.live.answer(message);
  }

  /** Something changed (a post, a run's end, an override): reconcile and work due jobs soon. */
  poke(): void {
    this.arm(0);
  }

  /** One reconciliation pass, then every due job; passes never overlap (a poke during one runs another). */
  async pass(): Promise<void> {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    try {
      do {
        this.again = false;
        await this.reconcile();
        await sweepAwaiting({
          store: this.deps.store, now: this.deps.now, graceMs: CLAIM_MS, changed: this.deps.changed,
          apply: (job, step) => this.apply(job, { expect: 'awaiting' }, step),
        });
        await this.workDue();
      } while (this.again && !this.stopped);
    } finally {
      this.running = false;
    }
  }

  /** Opens a job for every thread with unread messages and none open; resolves with how many it opened. */
  async reconcile(): Promise<number> {
    const { store, config } = this.deps;
    let opened = 0;
    for (const thread of await store.mailbox.unread(1_000)) {
      const chain = newChain(thread.taskId, { maxResumes: config.maxResumes, staleAfterMs: config.staleAfterMs });
      const job = await store.mailbox.openTrigger(thread.taskId, thread.latestSeq, chain.persisted, this.deps.now());
      if (job === null) continue;
      opened += 1;
      this.deps.logger.info({ taskId: job.taskId, triggerId: job.id, uptoSeq: job.uptoSeq }, 'delivery opened');
    }
    return opened;
  }

  private arm(delayMs: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pass()
        .catch((error: unknown) => {
          // A store that fails ends the run, said once by the fault stop; anything else is tried again.
          if (!this.deps.fault(error)) this.deps.logger.warn({ err: error }, 'the mailbox pass failed; it runs again at the next poll');
        })
        .finally(() => void this.armNext());
    }, delayMs);
    this.timer.unref();
  }

  private async armNext(): Promise<void> {
    if (this.stopped || this.timer !== undefined) return;
    const due = await this.deps.store.mailbox.nextTriggerDueMs(this.deps.now()).catch(() => null);
    this.arm(Math.min(this.deps.config.pollMs, Math.max(due ?? Number.POSITIVE_INFINITY, 5)));
  }

  private async workDue(): Promise<void> {
    const { store, nodeId } = this.deps;
    for (let n = 0; n < 1_000 && !this.stopped; n += 1) {
      const lease = randomBytes(9).toString('base64url');
      const job = await store.mailbox.claimTrigger(nodeId, lease, CLAIM_MS, this.deps.now());
      if (job === null) return;
      let step: Step;
      try {
        step = await this.decide(job);
      } catch (error) {
        step = this.failedTry(job, toCoordError(error));
      }
      const applied = await this.apply(job, { lease }, step);
      if (applied !== null && step.after) await step.after().catch((error: unknown) => this.afterFailed(applied, error));
    }
  }

  /** The reopen or interrupt after a hand-over failed: the job goes back to pending, tried again with backoff. */
  private async afterFailed(job: TriggerJob, error: unknown): Promise<void> {
    const step = this.failedTry(job, toCoordError(error));
    await this.apply(job, { expect: job.status }, { ...step, patch: { ...step.patch, releaseLease: false } });
  }

  /** A try that failed for coord's own reasons: again after backoff, or dead when tries run out. */
  private failedTry(job: TriggerJob, error: CoordError): Step {
    const failures = job.failures + 1;
    this.deps.logger.warn({ taskId: job.taskId, triggerId: job.id, failures, err: error }, 'a delivery try failed');
    if (failures >= this.deps.config.maxTries) {
      return { patch: { status: 'dead', failures, releaseLease: true, lastCode: error.code, lastMessage: `${failures} tries failed; last: ${error.message}` }, outcome: 'dead', code: error.code, detail: error.message };
    }
    const backoff = Math.min(60_000, 500 * 2 ** (failures - 1));
    return { patch: { status: 'pending', failures, nextAt: this.deps.now() + backoff, releaseLease: true }, outcome: 'failed', code: error.code, detail: error.message };
  }

  /** Writes a try's step (fenced by the claim's lease or the status it expects) and says so. */
  async apply(job: TriggerJob, fence: { lease: string } | { expect: TriggerJob['status'] }, step: Step): Promise<TriggerJob | null> {
    const now = this.deps.now();
    const stage = step.patch.chain !== undefined ? readChain(step.patch.chain).stage : readChain(job.chain).stage;
    const patch: TriggerPatch = { ...step.patch, lastCode: step.patch.lastCode ?? step.code, lastMessage: step.patch.lastMessage ?? step.detail };
    const attempt = step.record === false ? null : { at: now, node: this.deps.nodeId, stage, outcome: step.outcome, code: step.code, detail: step.detail };
    const updated = await this.deps.store.mailbox.updateTrigger(job.id, fence, patch, attempt, now);
    if (updated === null) return null;
    if (attempt !== null) {
      const level = step.outcome === 'dead' || step.outcome === 'failed' ? 'warn' : 'info';
      this.deps.logger[level]({ taskId: job.taskId, triggerId: job.id, uptoSeq: job.uptoSeq, stage, outcome: step.outcome, code: step.code, detail: step.detail }, `delivery ${step.outcome}`);
      this.deps.events.emit('coord:trigger', { taskId: job.taskId, triggerId: job.id, uptoSeq: job.uptoSeq, stage, outcome: step.outcome, code: step.code, detail: step.detail });
    }
    if (updated.status === 'delivered') this.deps.events.emit('coord:delivered', { taskId: job.taskId, triggerId: job.id, uptoSeq: job.uptoSeq, route: updated.route ?? 'live' });
    if (updated.status === 'delivered' || updated.status === 'dead') this.again = true;
    return updated;
  }

  /** The next step of a claimed job, from where its task and session stand. */
  private async decide(job: TriggerJob): Promise<Step> {
    const { store } = this.deps;
    const task = await store.get(job.taskId);
    const now = this.deps.now();
    if (!task) return dead(`task "${job.taskId}" is gone`, 'TASK_NOT_FOUND');
    if (closedToMessages(task)) {
      return dead(`task "${job.taskId}" is ${task.status}: the messages cannot be delivered`, 'TASK_STATE_CONFLICT');
    }
    if (task.status === 'blocked') {
      const code = task.error?.code ?? 'LOOP_NO_PROGRESS';
      return { patch: { status: 'pending', nextAt: now + PARKED_MS, releaseLease: true }, outcome: 'waiting', code, detail: 'blocked by a loop safeguard: delivered after `coord unblock`', record: job.lastCode !== code };
    }
    const chain = readChain(job.chain);
    if (task.status === 'running' && task.spec.interactive === true && (chain.stage === 'original' || chain.stage === 'live')) {
      return this.live.step(job, task, chain);
    }
    if (task.status !== 'complete' && task.status !== 'dead') {
      // Not run yet, or a one-shot run in progress: its end pokes this job.
      const detail = task.status === 'running' ? 'the agent\'s run is in progress: delivered when it ends' : `the task is ${task.status}: delivered after its run`;
      return { patch: { status: 'pending', nextAt: now + this.deps.config.recheckMs, releaseLease: true }, outcome: 'waiting', code: 'OK', detail, record: job.lastMessage !== detail };
    }
    const next = chain.stage === 'original' ? stepChain(job.chain, { type: 'delivery.start', ...(await this.sessionFacts(task)) }) : chain;
    return this.handOver(job, task, next);
  }

  /** How the task's session stands, for the chain's first hop. */
  private async sessionFacts(task: TaskRecord): Promise<{ live: boolean; at: number; sessionIdleMs: number; workerCrashLooping: boolean; resumable: boolean }> {
    const thread = await this.deps.store.mailbox.thread(task.spec.id);
    const now = this.deps.now();
    const recent = task.attempts.slice(-3).filter((a) => a.code !== null && CRASH_CODES.has(a.code)).length;
    const profile = resolveProfile(task.spec.agent ?? '', this.deps.agents());
    return {
      live: false, at: now,
      sessionIdleMs: thread?.sessionAt == null ? 0 : Math.max(0, now - thread.sessionAt),
      workerCrashLooping: recent >= 2,
      resumable: supportsResume(profile) && thread?.sessionId != null,
    };
  }

  /** Reopens the finished task for a run by the chain's stage (resume or respawn); the job awaits that run. */
  private async handOver(job: TriggerJob, task: TaskRecord, chain: ChainState): Promise<Step> {
    if (chain.stage === 'exhausted') return this.exhaust(task, chain);
    const route = chain.stage === 'respawn' ? 'respawn' : 'resume';
    const reason = `delivering messages up to ${job.uptoSeq} (${route})`;
    const hop = chain.hops.at(-1);
    return {
      patch: { status: 'awaiting', chain: chain.persisted, route, deferredSince: null, releaseLease: true },
      outcome: 'handed-over', code: hop?.code ?? 'OK', detail: `${route}: ${describeHops(chain.hops)}`,
      after: async () => {
        const changed = await this.deps.store.reopen(task.spec.id, reason, this.deps.now());
        if (changed.length === 0) throw new CoordError('TASK_STATE_CONFLICT', `task "${task.spec.id}" could not be reopened from ${task.status}`);
        await this.deps.changed();
      },
    };
  }

  /** Every route failed: the task is dead with the reason chain, and the job with it. */
  async exhaust(task: TaskRecord, chain: ChainState): Promise<Step> {
    const message = `every delivery route failed: ${describeHops(chain.hops)}`;
    this.deps.logger.error({ taskId: task.spec.id, hops: chain.hops }, message);
    return { patch: { status: 'dead', chain: chain.persisted, releaseLease: true }, outcome: 'dead', code: 'DELIVERY_EXHAUSTED', detail: message };
  }
}
