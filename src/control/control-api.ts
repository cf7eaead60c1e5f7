/**
 * What the daemon answers, whoever asks: the socket and the HTTP API both call these, so a
 * command means the same thing (and fails with the same code) on either. Each method takes
 * validated arguments and resolves with JSON-safe data, or throws a {@link CoordError}.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { CoordError } from '../errors.js';
import { taskLogFile } from '../supervisor/dispatch/assign-message.js';
import type { PoolStatus, SummaryFilter, Supervisor, SupervisorStatus } from '../supervisor/supervisor-api.js';
import type { TaskSummary } from '../supervisor/summary.js';
import type { TaskSpecInput } from '../tasks/spec.js';

/** What the control plane drives of a supervisor. */
export type ControlTarget = Pick<Supervisor, 'status' | 'submit' | 'summary' | 'redrive' | 'cancel' | 'drain' | 'stop' | 'events' | 'message' | 'unblock' | 'pools' | 'pool'>;

/** Where the daemon can be reached and since when: part of every status answer. */
export interface DaemonFacts {
  pid: number;
  startedAt: string;
  socket: string;
  /** `http://HOST:PORT`, or null without `--http`. */
  http: string | null;
}

/** The `daemon status` / `GET /status` object (its fields are a contract). */
export interface DaemonStatus {
  running: true;
  pid: number;
  state: string;
  startedAt: string;
  socket: string;
  http: string | null;
  /** `liveness`: the running agent task's (`progressing`, `quiet`, `stalled`), else null; `error`: why a worker whose setup failed is out of service. */
  workers: Array<{ id: string; pool: string; pid: number | null; state: string; task: string | null; restarts: number; liveness: string | null; error?: { code: string; message: string; logFile: string } }>;
  /** Each pool's readiness (`GET /pools`). */
  pools: SupervisorStatus['pools'];
  counts: Partial<Record<string, number>>;
  /** Coordination (docs/coordination.md): each rate-limited key, each budget scope, the merge queue, predicted conflicts, held tasks. */
  rateLimits: SupervisorStatus['rateLimits'];
  budgets: SupervisorStatus['budgets'];
  merge: SupervisorStatus['merge'];
  conflicts: SupervisorStatus['conflicts'];
  held: SupervisorStatus['held'];
}

const TASK_STATUSES = ['pending', 'ready', 'assigned', 'running', 'failed', 'complete', 'dead', 'blocked', 'cancelled'];

export class ControlApi {
  constructor(
    private readonly supervisor: ControlTarget,
    private readonly facts: () => DaemonFacts,
  ) {}

  status(): DaemonStatus {
    const status = this.supervisor.status();
    const facts = this.facts();
    return {
      running: true,
      pid: facts.pid,
      state: status.state,
      startedAt: facts.startedAt,
      socket: facts.socket,
      http: facts.http,
      workers: status.workers.map((w) => ({
        id: w.id, pool: w.pool, pid: w.pid, state: w.state, task: w.task, restarts: w.restarts, liveness: (w.task !== null ? status.liveness[w.task] : undefined) ?? null,
        ...(w.error ? { error: w.error } : {}),
      })),
      pools: status.pools,
      counts: status.counts,
      rateLimits: status.rateLimits,
      budgets: status.budgets,
      merge: status.merge,
      conflicts: status.conflicts,
      held: status.held,
    };
  }

  /** Every pool's readiness (`GET /pools`). */
  pools(): PoolStatus[] {
    return this.supervisor.pools();
  }

  /** One pool's readiness (`GET /pools/{id}/status`); `POOL_NOT_FOUND` for a pool not declared. */
  pool(id: string): PoolStatus {
    return this.supervisor.pool(id);
  }

  /** Submits tasks, all or nothing; resolves with the ids added (tasks already stored are not repeated). */
  async submit(tasks: readonly unknown[]): Promise<{ ids: string[] }> {
    return { ids: await this.supervisor.submit(tasks as TaskSpecInput[]) };
  }

  async tasks(status?: string): Promise<TaskSummary[]> {
    if (status !== undefined && !TASK_STATUSES.includes(status)) {
      throw new CoordError('BAD_REQUEST', `status must be one of ${TASK_STATUSES.join(', ')}, not "${status}"`, { details: { status } });
    }
    return (await this.summaryOf(status === undefined ? {} : { status })).tasks;
  }

  async task(taskId: string): Promise<TaskSummary> {
    const [task] = (await this.summaryOf({ ids: [taskId] })).tasks;
    if (!task) throw new CoordError('TASK_NOT_FOUND', `no task "${taskId}"`, { details: { taskId } });
    return task;
  }

  /** Cancels a task that is not terminal; its dependents are blocked. */
  async cancel(taskId: string): Promise<{ taskId: string; changed: string[] }> {
    await this.task(taskId);
    return { taskId, changed: await this.supervisor.cancel(taskId) };
  }

  /** Puts a dead task back in play; `TASK_STATE_CONFLICT` when it is not dead. */
  async redrive(taskId: string): Promise<{ taskId: string; changed: string[] }> {
    const task = await this.task(taskId);
    if (task.status !== 'dead') {
      throw new CoordError('TASK_STATE_CONFLICT', `task "${taskId}" is ${task.status}, not dead: only a dead task can be redriven`, { details: { taskId, status: task.status } });
    }
    return { taskId, changed: await this.supervisor.redrive(taskId) };
  }

  /** Adds a message to an agent task's mailbox; resolves with it (its `seq`). */
  async message(taskId: string, text: unknown): Promise<{ taskId: string; seq: number; at: string; source: string }> {
    if (typeof text !== 'string') throw new CoordError('PAYLOAD_INVALID', `the message must be text, not ${text === null ? 'null' : typeof text}`, { details: { taskId } });
    const message = await this.supervisor.message(taskId, text);
    return { taskId, seq: message.seq, at: new Date(message.at).toISOString(), source: message.source };
  }

  /** The task's mailbox: its messages, deliveries (with every try) and overrides. */
  async messages(taskId: string): Promise<NonNullable<TaskSummary['mailbox']> | { messages: []; deliveries: []; overrides: [] }> {
    const task = await this.task(taskId);
    return task.mailbox ?? { messages: [], deliveries: [], overrides: [] };
  }

  /** Lifts a loop safeguard's block, with the operator's reason (required). */
  async unblock(taskId: string, reason: unknown): Promise<{ taskId: string; code: string; reason: string; at: string }> {
    // Anything but text is no reason: the supervisor refuses it (USAGE) as it refuses an empty one.
    const override = await this.supervisor.unblock(taskId, typeof reason === 'string' ? reason : '');
    return { taskId, code: override.code, reason: override.reason, at: new Date(override.at).toISOString() };
  }

  /** The attempt's output log (the latest that started by default), as text. */
  async log(taskId: string, attempt?: number): Promise<{ file: string; text: string }> {
    const task = await this.task(taskId);
    const started = task.history.filter((start) => start.startedAt !== null && !start.released);
    const which = attempt ?? started.at(-1)?.attempt;
    const dir = this.supervisor.status().paths?.taskLogDir;
    if (which === undefined || dir === undefined) throw new CoordError('TASK_NOT_FOUND', `task "${taskId}" has not started yet: it has no log`, { details: { taskId } });
    const file = taskLogFile(dir, taskId, which);
    if (!existsSync(file)) throw new CoordError('TASK_NOT_FOUND', `attempt ${which} of "${taskId}" has no log`, { details: { taskId, attempt: which } });
    return { file, text: await readFile(file, 'utf8') };
  }

  /** Starts a drain (or a stop) and answers at once: the daemon exits when it has finished. */
  drain(deadlineMs?: number): { state: string } {
    void this.supervisor.drain(deadlineMs).catch(() => undefined);
    return { state: 'draining' };
  }

  stop(): { state: string } {
    void this.supervisor.stop().catch(() => undefined);
    return { state: 'stopping' };
  }

  private summaryOf(filter: SummaryFilter) {
    return this.supervisor.summary(filter);
  }
}
