/**
 * The mailbox's data: every agent task's thread of messages, its sessions' read cursors, the
 * trigger jobs that deliver unread messages (one open per task, claimed under a lease, every
 * try recorded with a reason code) and the loop safeguard's state. Stored with the task
 * queue (schema version 4), the same on all three stores.
 */
import type { CoordErrorCode } from '../errors.js';

/** Who wrote a message. */
export const MESSAGE_SOURCES = ['operator', 'merge-queue', 'conflict', 'coord'] as const;
export type MessageSource = (typeof MESSAGE_SOURCES)[number];

/** One message of a task's thread; `seq` runs 1, 2, … per task. */
export interface MailMessage {
  readonly taskId: string;
  readonly seq: number;
  /** Epoch ms. */
  readonly at: number;
  readonly source: MessageSource;
  /** The text as delivered: payload rules applied (src/agents/payload.ts). */
  readonly text: string;
  readonly meta: Record<string, unknown> | null;
}

/** What the loop safeguards remember about a task's turns (a turn is one agent result). */
export interface LoopState {
  readonly turns: number;
  /** Consecutive turns with no new commit. */
  readonly noProgress: number;
  /** Consecutive turns whose finding equals the one before (1 for a first occurrence). */
  readonly repeated: number;
  /** The last turn's finding, normalised (see loop-guard.ts). */
  readonly lastFinding: string | null;
  /** The task's commit after the last turn. */
  readonly lastCommit: string | null;
}

export const NO_LOOP: LoopState = { turns: 0, noProgress: 0, repeated: 0, lastFinding: null, lastCommit: null };

/** An operator lifting a safeguard's block, with the reason they gave (the audit trail). */
export interface Override {
  readonly at: number;
  readonly code: CoordErrorCode;
  readonly reason: string;
}

/** A task's thread: how far it goes, how far its current session has read. */
export interface ThreadState {
  readonly taskId: string;
  readonly latestSeq: number;
  /** The current session's read cursor. */
  readonly readSeq: number;
  /** The session the task's last agent run had (null before one reported a session). */
  readonly sessionId: string | null;
  /** Epoch ms that session last ended a turn (its idle time runs from there). */
  readonly sessionAt: number | null;
  readonly loop: LoopState;
  /** Every override of a safeguard's block, oldest first. */
  readonly overrides: readonly Override[];
  readonly updatedAt: number;
}

/**
 * A trigger job's status: `pending` (due at `nextAt`), `claimed` (a supervisor works on it
 * under `lease`), `awaiting` (handed over as a run of the task: the run's end settles it),
 * `delivered`, `dead` (its tries ran out, or the task cannot take messages any more).
 */
export type TriggerStatus = 'pending' | 'claimed' | 'awaiting' | 'delivered' | 'dead';
export const OPEN_TRIGGER_STATUSES: readonly TriggerStatus[] = ['pending', 'claimed', 'awaiting'];

/** How a delivery reaches the agent: typed into its live session, its session resumed, or a fresh session. */
export type DeliveryRoute = 'live' | 'resume' | 'respawn';

/** What one try of a trigger did. */
export type TriggerOutcome = 'typed' | 'deferred' | 'waiting' | 'handed-over' | 'delivered' | 'hopped' | 'failed' | 'dead' | 'recovered';

/** One try of a trigger job, with its reason code (a coord error code, or `OK`). */
export interface TriggerAttempt {
  readonly n: number;
  readonly at: number;
  readonly node: string | null;
  /** The chain's stage when it was made. */
  readonly stage: string;
  readonly outcome: TriggerOutcome;
  readonly code: CoordErrorCode | 'OK';
  readonly detail: string | null;
}

/** One delivery of a task's messages up to `uptoSeq`. */
export interface TriggerJob {
  readonly id: number;
  readonly taskId: string;
  readonly uptoSeq: number;
  readonly status: TriggerStatus;
  /** The delivery's fallback chain, persisted (an XState persisted snapshot of machines/fallback-chain.ts). */
  readonly chain: unknown;
  readonly tries: number;
  readonly failures: number;
  readonly nextAt: number;
  /** Since when a busy live session has put the delivery off (null: not deferred). */
  readonly deferredSince: number | null;
  readonly lease: string | null;
  readonly node: string | null;
  readonly leaseExpiresAt: number | null;
  /** The route of the run it was handed over as (while `awaiting`). */
  readonly route: DeliveryRoute | null;
  readonly lastCode: string | null;
  readonly lastMessage: string | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** A trigger job with its tries, oldest first. */
export interface TriggerJobWithAttempts extends TriggerJob {
  readonly attempts: readonly TriggerAttempt[];
}

/** The fields a trigger update may change. */
export type TriggerPatch = Partial<Pick<TriggerJob, 'status' | 'chain' | 'failures' | 'nextAt' | 'deferredSince' | 'route' | 'lastCode' | 'lastMessage'>> & {
  /** Drop the lease (back to anyone). */
  releaseLease?: boolean;
};

/** A thread with unread messages and no open trigger. */
export interface UnreadThread {
  readonly taskId: string;
  readonly latestSeq: number;
  readonly readSeq: number;
}

/** The mailbox's durable state. Times come in as `now`; nothing reads a clock. */
export interface Mailbox {
  /** Appends a message to `taskId`'s thread; resolves with it (its `seq`). */
  post(taskId: string, message: { source: MessageSource; text: string; meta?: Record<string, unknown> | null }, now: number): Promise<MailMessage>;
  /** The thread's messages after `afterSeq`, oldest first. */
  messages(taskId: string, afterSeq?: number): Promise<MailMessage[]>;
  thread(taskId: string): Promise<ThreadState | undefined>;
  /**
   * An agent run of `taskId` ended with `sessionId` (a turn): it becomes the thread's current
   * session, its cursor the one that session had (0 for a new one), `loop` the safeguard's new state.
   */
  endTurn(taskId: string, turn: { sessionId: string | null; loop: LoopState }, now: number): Promise<void>;
  /** Records an override: the loop safeguard starts over, and `override` joins the thread's audit trail. */
  override(taskId: string, override: Override, now: number): Promise<void>;
  /** `sessionId` has read up to `seq` (cursors never move back); it becomes the current session. */
  markRead(taskId: string, sessionId: string | null, seq: number, now: number): Promise<void>;
  /** Threads with unread messages and no open trigger (at most `limit`). */
  unread(limit: number): Promise<UnreadThread[]>;
  /** Opens a trigger for `taskId` up to `uptoSeq` unless one is open; null when one was. */
  openTrigger(taskId: string, uptoSeq: number, chain: unknown, now: number): Promise<TriggerJob | null>;
  /** Claims the earliest due pending trigger (or a claimed one whose lease expired) under a new lease. */
  claimTrigger(node: string, lease: string, leaseMs: number, now: number): Promise<TriggerJob | null>;
  /**
   * Changes trigger `id` and records `attempt` (numbered next), if it is still held under
   * `lease` (or, with `lease` null, still in status `expect`); null when it was not.
   */
  updateTrigger(id: number, fence: { lease: string } | { expect: TriggerStatus }, patch: TriggerPatch, attempt: Omit<TriggerAttempt, 'n'> | null, now: number): Promise<TriggerJob | null>;
  /** The task's open trigger. */
  openTriggerOf(taskId: string): Promise<TriggerJob | undefined>;
  /** Every trigger of the task with its tries, oldest first. */
  triggers(taskId: string): Promise<TriggerJobWithAttempts[]>;
  /** Every trigger handed over as a run (`awaiting`). */
  awaiting(): Promise<TriggerJob[]>;
  /** Ms until the next pending trigger is due (0 if due), or null. */
  nextTriggerDueMs(now: number): Promise<number | null>;
  /** How many triggers are in each status, and how many dead ones there are in all. */
  triggerCounts(): Promise<Record<TriggerStatus, number>>;
}
