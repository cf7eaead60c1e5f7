/**
 * The worker orchestrator's state and its answer to every `coord:*` message from the
 * supervisor. Phases: AWAITING_HELLO → RUNNING → DRAINING → STOPPING. Every message is
 * parsed first; a refused one is counted, logged and, where the sender expects an answer,
 * answered with the ready-made `coord:protocol-error`. Nothing a message holds can throw
 * out of {@link WorkerSession.receive}.
 */
import { PROTOCOL_VERSION, ParentMessageSchema, type ParentMessageOf, type WorkerMessageInput } from '../src/protocol/messages.js';
import { parseMessage } from '../src/protocol/parse.js';
import { executeAssign, type AssignMessage } from './execute.js';
import { startHeartbeat } from './heartbeat.js';
import type { Channel } from './ipc.js';
import { workerSelector } from '../src/procs/attempt-marker.js';
import { probeCgroupsUnless, type CgroupProbe } from '../src/procs/cgroup.js';
import { reap, reapedAnything, reapNow, type ReapResult } from '../src/procs/reap.js';
import { errorFields, type Logger } from './log.js';
import type { ProcessGroups } from './process-group.js';
import { createModulePool, type ModulePool } from './run-module.js';
import { RunningTasks } from './running-tasks.js';
import { failure, finalMessage, type FinalMessage } from './task-outcome.js';
import { Workspace } from './workspace.js';
import type { LiveSession } from './run-agent.js';
import { RateGate } from './rate-gate.js';

/** The lifecycle phase of a worker process. */
export type WorkerPhase = 'AWAITING_HELLO' | 'RUNNING' | 'DRAINING' | 'STOPPING';

/** What a session needs from its process. */
export interface SessionDeps {
  channel: Channel;
  logger: Logger;
  groups: ProcessGroups;
  /** Ends the process (process.exit in production). */
  exit: (code: number) => void;
  createModulePool?: (maxThreads: number) => ModulePool;
  /** Finds out whether this process may create attempt cgroups (tests may replace it). */
  probeCgroups?: () => CgroupProbe;
}

type Hello = ParentMessageOf<'coord:hello'>;

/** One worker process's side of the protocol. */
export class WorkerSession {
  #phase: WorkerPhase = 'AWAITING_HELLO';
  #refused = 0;
  #hello: Hello | null = null;
  #logger: Logger;
  #modules: ModulePool | null = null;
  #workspace: Workspace | null = null;
  #cgroupBase: string | null = null;
  #stopHeartbeat: () => void = () => undefined;
  readonly #running = new RunningTasks();
  /** Live interactive agent sessions, by the lease of their attempt. */
  readonly #sessions = new Map<string, LiveSession>();
  readonly #deps: SessionDeps;
  readonly #rate: RateGate;

  constructor(deps: SessionDeps) {
    this.#deps = deps;
    this.#logger = deps.logger;
    this.#rate = new RateGate((message) => deps.channel.send(message));
  }

  /** The current phase. */
  get phase(): WorkerPhase {
    return this.#phase;
  }

  /** Handles one raw IPC message. Never throws. */
  receive(raw: unknown): void {
    try {
      this.#dispatch(raw);
    } catch (error) {
      this.#logger.log('error', 'failed to handle a message', errorFields(error));
    }
  }

  /**
   * The parent is gone (or SIGTERM arrived): kill every task process group and exit now.
   * Synchronous on purpose; nothing may be awaited when the supervisor has died.
   */
  abandon(why: string, exitCode: number): void {
    this.#phase = 'STOPPING';
    this.#stopHeartbeat();
    const killed = this.#deps.groups.signalAll('SIGKILL');
    const leftovers = this.#reapLeftoversNow();
    this.#logger.log('warn', 'abandoning worker', { why, killedGroups: killed, running: this.#running.ids(), ...leftovers });
    this.#deps.exit(exitCode);
  }

  #dispatch(raw: unknown): void {
    const parsed = parseMessage(ParentMessageSchema, raw);
    if (!parsed.ok) {
      this.#refused += 1;
      this.#logger.log('warn', 'refused message', { reason: parsed.reason, refusedType: parsed.refusedType, refusedCount: this.#refused });
      if (parsed.reply !== null) this.#deps.channel.send(parsed.reply);
      return;
    }
    const message = parsed.message;
    if (this.#phase === 'AWAITING_HELLO' && message.type !== 'coord:hello') {
      this.#beforeHello(message.type);
      return;
    }
    switch (message.type) {
      case 'coord:hello': return this.#onHello(message);
      case 'coord:assign': return this.#onAssign(message);
      case 'coord:cancel': return this.#onCancel(message);
      case 'coord:input': return this.#onInput(message);
      case 'coord:drain':
        if (this.#phase === 'RUNNING') this.#phase = 'DRAINING';
        // The deadline is the supervisor's to enforce (it cancels or shuts down); the
        // worker only stops taking work.
        this.#logger.log('info', 'draining: no new tasks accepted', { deadlineMs: message.deadlineMs });
        return;
      case 'coord:shutdown': return void this.#shutdown(message.graceMs);
      case 'coord:protocol-error':
        this.#logger.log('warn', 'the supervisor refused a message', { message: message.message, refusedType: message.refusedType });
        return;
      case 'coord:rate-grant':
      case 'coord:rate-wait':
        if (!this.#rate.answer(message)) this.#logger.log('warn', 'unexpected answer ignored: no request outstanding', { type: message.type });
        return;
      case 'coord:conflict':
        // The supervisor predicts that this task's work and another's will not merge cleanly.
        this.#logger.log('warn', 'predicted conflict', { taskId: message.taskId, conflicts: message.conflicts });
        return;
      default:
        // proceed / wait answer requests this worker does not make; an answer to no
        // question is logged and dropped.
        this.#logger.log('warn', 'unexpected answer ignored: no request outstanding', { type: message.type });
    }
  }

  #beforeHello(type: string): void {
    if (type === 'coord:shutdown') {
      this.#phase = 'STOPPING';
      void this.#deps.channel.flush(1_000).then(() => this.#deps.exit(0));
      return;
    }
    const message = `${type} received before coord:hello`;
    this.#logger.log('warn', message);
    if (type === 'coord:assign' || type === 'coord:cancel') {
      this.#deps.channel.send(protocolError(message, type));
    }
  }

  #onHello(hello: Hello): void {
    const { channel } = this.#deps;
    if (this.#phase !== 'AWAITING_HELLO') {
      return channel.send(protocolError('duplicate coord:hello', 'coord:hello'));
    }
    if (hello.protocolVersion !== PROTOCOL_VERSION) {
      this.#phase = 'STOPPING';
      const message = `protocol version mismatch: supervisor speaks ${hello.protocolVersion}, worker speaks ${PROTOCOL_VERSION}`;
      this.#logger.log('error', message);
      channel.send(protocolError(message, 'coord:hello'));
      void channel.flush(1_000).then(() => this.#deps.exit(1));
      return;
    }
    this.#hello = hello;
    this.#phase = 'RUNNING';
    this.#logger = this.#logger.with({ workerId: hello.workerId });
    this.#modules = (this.#deps.createModulePool ?? createModulePool)(hello.moduleThreads);
    this.#workspace = new Workspace(hello.worktree, hello.repoRoot, (found) => {
      this.#logger.log('warn', 'rebuilt a broken worktree', { worktree: hello.worktree, found });
      channel.send({ type: 'coord:workspace-repaired', workerId: hello.workerId, worktree: hello.worktree, found });
    });
    const cgroups = (this.#deps.probeCgroups ?? (() => probeCgroupsUnless(process.env)))();
    this.#cgroupBase = cgroups.ok ? cgroups.base : null;
    // Not an error: without cgroups, the attempt marker still finds every task process.
    this.#logger.log('debug', cgroups.ok ? 'tasks run in their own cgroups' : 'tasks run without cgroups; attempt markers only',
      cgroups.ok ? { cgroupBase: cgroups.base } : { reason: cgroups.reason });
    if (hello.worktree !== process.cwd()) {
      this.#logger.log('warn', 'worktree differs from the process cwd; using the worktree', { worktree: hello.worktree, cwd: process.cwd() });
    }
    channel.send({ type: 'coord:ready', workerId: hello.workerId, pid: process.pid, protocolVersion: PROTOCOL_VERSION });
    this.#stopHeartbeat = startHeartbeat({
      workerId: hello.workerId,
      intervalMs: hello.heartbeatMs,
      running: () => this.#running.ids(),
      send: (message) => channel.send(message),
    });
  }

  #onAssign(assign: AssignMessage): void {
    const hello = this.#hello;
    const refuse = (why: string): void => {
      this.#logger.log('warn', 'assign refused', { taskId: assign.taskId, why });
      this.#deps.channel.send(finalMessage(assign, failure('TASK_CANCELLED', why), null, null, 0));
    };
    const workspace = this.#workspace;
    if (hello === null || this.#modules === null || workspace === null) return refuse('worker not initialised');
    if (this.#phase !== 'RUNNING') return refuse(`worker is ${this.#phase.toLowerCase()}; not accepting tasks`);
    // The same assign twice (a resend): the attempt in flight will answer it; refusing it
    // would report that very attempt as failed.
    if (this.#running.leaseOf(assign.taskId) === assign.lease) {
      return this.#logger.log('warn', 'duplicate assign ignored', { taskId: assign.taskId });
    }
    // One worktree, one task: a second assign would trample the first one's checkout.
    if (this.#running.size > 0) return refuse(`worker busy with ${this.#running.ids().join(', ')}`);
    const { workerId, worktree, killGraceMs, runId } = hello;
    const { channel, groups } = this.#deps;
    const context = { runId, cgroupBase: this.#cgroupBase, workerId, worktree, workspace, killGraceMs, groups, modules: this.#modules, logger: this.#logger, sessions: this.#sessions,
      send: (message: WorkerMessageInput) => channel.send(message) };
    this.#running.start(assign, async (signal) => {
      let final: FinalMessage;
      try {
        const leave = assign.rateKey === null ? null : await this.#rate.ask(assign, assign.rateKey, signal);
        if (leave !== null && 'cancelled' in leave) final = finalMessage(assign, failure('TASK_CANCELLED', 'cancelled while waiting for the shared rate limit'), null, null, 0);
        else if (leave !== null && !leave.granted) {
          const wait = failure('RATE_LIMITED', `waiting ${leave.retryAfterMs} ms for the shared rate limit of ${assign.rateKey ?? ''}`);
          final = finalMessage(assign, { ...wait, retryAfterMs: leave.retryAfterMs }, null, null, 0);
        } else final = await executeAssign(assign, signal, context);
      } catch (error) {
        this.#logger.log('error', 'task execution failed unexpectedly', { taskId: assign.taskId, ...errorFields(error) });
        final = finalMessage(assign, failure('INTERNAL', `worker error: ${error instanceof Error ? error.message : String(error)}`), null, null, 0);
      }
      this.#deps.channel.send(final);
    });
  }

  /** Types a message into a live interactive session, only if it has been quiet long enough (the supervisor decides what then). */
  #onInput(input: ParentMessageOf<'coord:input'>): void {
    const session = this.#running.leaseOf(input.taskId) === input.lease ? this.#sessions.get(input.lease) : undefined;
    const answer = (status: 'typed' | 'busy' | 'gone', quietForMs: number | null): void =>
      this.#deps.channel.send({ type: 'coord:input-result', taskId: input.taskId, attempt: input.attempt, lease: input.lease, inputId: input.inputId, status, quietForMs });
    if (session === undefined) return answer('gone', null);
    const last = session.lastOutputAt();
    const quietForMs = last === null ? null : Math.max(0, Math.round(Date.now() - last));
    if (quietForMs !== null && quietForMs < input.quietWindowMs) return answer('busy', quietForMs);
    session.type(input.text);
    this.#logger.log('info', 'typed a message into the live session', { taskId: input.taskId, inputId: input.inputId, bytes: Buffer.byteLength(input.text) });
    answer('typed', quietForMs);
  }

  #onCancel(cancel: ParentMessageOf<'coord:cancel'>): void {
    const result = this.#running.cancel(cancel.taskId, cancel.lease, cancel.reason, cancel.graceful);
    this.#logger.log(result === 'cancelled' ? 'info' : 'warn', `cancel: ${result}`, { taskId: cancel.taskId, reason: cancel.reason });
  }

  /**
   * Kills every process any attempt of this worker slot left behind (this incarnation's and
   * earlier ones', which a crash left to the supervisor), synchronously: for a worker that
   * is about to exit. Returns log fields.
   */
  #reapLeftoversNow(): Record<string, unknown> {
    if (this.#hello === null) return {};
    // A supervisor that died cannot remove the emptied cgroups later: wait a little for them here.
    const { result } = reapNow(workerSelector(this.#hello.runId, this.#hello.workerId), { cgroupBase: this.#cgroupBase }, 250);
    return leftoverFields(result);
  }

  /** As {@link #reapLeftoversNow}, also removing the emptied cgroups; logs what it killed. */
  async #reapLeftovers(): Promise<void> {
    if (this.#hello === null) return;
    const result = await reap(workerSelector(this.#hello.runId, this.#hello.workerId), { cgroupBase: this.#cgroupBase })
      .catch((error: unknown) => {
        this.#logger.log('warn', 'could not sweep leftover task processes', errorFields(error));
        return null;
      });
    if (result !== null && reapedAnything(result)) this.#logger.log('warn', 'killed leftover task processes', leftoverFields(result));
  }

  async #shutdown(graceMs: number): Promise<void> {
    if (this.#phase === 'STOPPING') return;
    this.#phase = 'STOPPING';
    this.#running.cancelAll('shutdown');
    const settled = await this.#running.settled(graceMs);
    if (!settled) {
      const killed = this.#deps.groups.signalAll('SIGKILL');
      this.#logger.log('warn', 'tasks did not report within the shutdown grace period', { graceMs, killedGroups: killed, running: this.#running.ids() });
    }
    this.#stopHeartbeat();
    await this.#reapLeftovers();
    await this.#modules?.destroy().catch((error: unknown) => this.#logger.log('warn', 'thread pool destroy failed', errorFields(error)));
    await this.#deps.channel.flush(1_000);
    this.#deps.exit(0);
  }
}

function leftoverFields(result: ReapResult): Record<string, unknown> {
  return { leftoverPids: [...new Set([...result.cgroupPids, ...result.sweep.killed])], sweepMs: Math.round(result.sweep.durationMs) };
}

function protocolError(message: string, refusedType: string): WorkerMessageInput {
  return { type: 'coord:protocol-error', code: 'PROTOCOL_INVALID', message, refusedType };
}
