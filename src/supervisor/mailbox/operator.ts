/**
 * What an operator does to a task's mailbox, on a store directly (the same with or without a
 * supervisor running: a running one delivers what is posted, and the next one to start does
 * otherwise): post a message, lift a safeguard's block with a reason, and read the thread.
 */
import { checkPayload } from '../../agents/payload.js';
import { CoordError } from '../../errors.js';
import { isOverridable } from '../../lifecycle/reopen.js';
import { taskNotFound } from '../../lifecycle/task-record.js';
import type { MailMessage, MessageSource, Override, ThreadState, TriggerJobWithAttempts } from '../../mailbox/types.js';
import type { TaskRecord, TaskStore } from '../../store/task-store.js';
import { readChain } from './chain.js';

/** The task `taskId`, or `TASK_NOT_FOUND`. */
async function taskOf(store: TaskStore, taskId: string): Promise<TaskRecord> {
  const task = await store.get(taskId);
  if (!task) throw taskNotFound(taskId);
  return task;
}

/** True when the task takes no more messages: cancelled, or blocked other than by a loop safeguard. */
export function closedToMessages(task: Pick<TaskRecord, 'status' | 'error'>): boolean {
  return task.status === 'cancelled' || (task.status === 'blocked' && !isOverridable(task));
}

/**
 * Adds a message to an agent task's thread. `BAD_REQUEST` for a task that is not an agent
 * task, `TASK_STATE_CONFLICT` for one that takes no more messages (cancelled, or blocked by a
 * dead dependency), `PAYLOAD_INVALID` / `PAYLOAD_TOO_LARGE` for a refused text: nothing is stored then.
 */
export async function postMessage(
  store: TaskStore,
  taskId: string,
  text: unknown,
  options: { source?: MessageSource; meta?: Record<string, unknown> | null; maxBytes: number; now: number },
): Promise<MailMessage> {
  const task = await taskOf(store, taskId);
  if (task.spec.agent === undefined) throw new CoordError('BAD_REQUEST', `task "${taskId}" is not an agent task: only agent tasks have a mailbox`, { details: { taskId } });
  if (closedToMessages(task)) {
    throw new CoordError('TASK_STATE_CONFLICT', `task "${taskId}" is ${task.status}: it takes no more messages`, { details: { taskId, status: task.status } });
  }
  const clean = checkPayload(text, 'the message', options.maxBytes);
  return store.mailbox.post(taskId, { source: options.source ?? 'operator', text: clean, meta: options.meta ?? null }, options.now);
}

/**
 * Lifts a loop safeguard's block: the task is complete again, the safeguard starts over, and
 * the override with its reason is kept in the thread and logged (`task.overridden`). `USAGE`
 * without a reason; `TASK_STATE_CONFLICT` for a task no safeguard blocked.
 */
export async function unblockTask(store: TaskStore, taskId: string, reason: unknown, now: number): Promise<Override> {
  if (typeof reason !== 'string' || reason.trim() === '') {
    throw new CoordError('USAGE', 'an override needs a reason: coord unblock ID --reason "why it may go on"', { details: { taskId } });
  }
  const task = await taskOf(store, taskId);
  if (!isOverridable(task) || task.error === null) {
    throw new CoordError('TASK_STATE_CONFLICT', `task "${taskId}" is ${task.status}${task.error ? ` (${task.error.code})` : ''}: only a task a loop safeguard blocked can be unblocked`, {
      details: { taskId, status: task.status },
    });
  }
  const override: Override = { at: now, code: task.error.code, reason: reason.trim().slice(0, 2_000) };
  if (!(await store.override(taskId, override.reason, now))) throw new CoordError('TASK_STATE_CONFLICT', `task "${taskId}" changed meanwhile: try again`, { details: { taskId } });
  await store.mailbox.override(taskId, override, now);
  return override;
}

/** A delivery as the summary shows it. */
export interface DeliverySummary {
  id: number;
  uptoSeq: number;
  status: string;
  /** Where its chain stands (`original`, `live`, `resume`, `respawn`, `exhausted`, `recovered`). */
  stage: string;
  route: string | null;
  hops: ReadonlyArray<{ from: string; to: string; reason: string; code: string; at: string }>;
  tries: number;
  lastCode: string | null;
  lastMessage: string | null;
  attempts: ReadonlyArray<{ n: number; at: string; node: string | null; stage: string; outcome: string; code: string; detail: string | null }>;
}

/** An agent task's mailbox as the summary, `coord task ID` and `GET /tasks/:id` show it. */
export interface MailboxSummary {
  messages: Array<{ seq: number; at: string; source: string; text: string }>;
  readSeq: number;
  unread: number;
  session: string | null;
  loop: ThreadState['loop'];
  overrides: Array<{ at: string; code: string; reason: string }>;
  deliveries: DeliverySummary[];
}

const iso = (ms: number): string => new Date(ms).toISOString();

function deliveryOf(job: TriggerJobWithAttempts): DeliverySummary {
  const chain = readChain(job.chain);
  return {
    id: job.id, uptoSeq: job.uptoSeq, status: job.status, stage: chain.stage, route: job.route,
    hops: chain.hops.map((h) => ({ from: h.from, to: h.to, reason: h.reason, code: h.code, at: iso(h.at) })),
    tries: job.tries, lastCode: job.lastCode, lastMessage: job.lastMessage,
    attempts: job.attempts.map((a) => ({ n: a.n, at: iso(a.at), node: a.node, stage: a.stage, outcome: a.outcome, code: a.code, detail: a.detail })),
  };
}

/** The mailboxes of the agent tasks among `tasks` that have one, by task id. */
export async function mailboxesOf(store: TaskStore, tasks: readonly TaskRecord[]): Promise<Map<string, MailboxSummary>> {
  const found = new Map<string, MailboxSummary>();
  for (const task of tasks) {
    const mailbox = await mailboxOf(store, task);
    if (mailbox) found.set(task.spec.id, mailbox);
  }
  return found;
}

/** The mailbox of an agent task (null for other tasks, and for one with no thread yet). */
export async function mailboxOf(store: TaskStore, task: TaskRecord): Promise<MailboxSummary | null> {
  if (task.spec.agent === undefined) return null;
  const thread = await store.mailbox.thread(task.spec.id);
  if (!thread) return null;
  const [messages, jobs] = await Promise.all([store.mailbox.messages(task.spec.id), store.mailbox.triggers(task.spec.id)]);
  return {
    messages: messages.map((m) => ({ seq: m.seq, at: iso(m.at), source: m.source, text: m.text })),
    readSeq: thread.readSeq,
    unread: Math.max(0, thread.latestSeq - thread.readSeq),
    session: thread.sessionId,
    loop: thread.loop,
    overrides: thread.overrides.map((o) => ({ at: iso(o.at), code: o.code, reason: o.reason })),
    deliveries: jobs.map(deliveryOf),
  };
}
