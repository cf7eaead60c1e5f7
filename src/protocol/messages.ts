/**
 * The `coord:*` protocol: every message between the supervisor and a worker orchestrator,
 * as zod schemas in one discriminated union on `type`. Both ends parse everything they
 * receive with {@link parseMessage}; nothing else in the code base defines a message shape.
 *
 * Task messages carry `taskId`, `attempt` and `lease`. The lease is a fencing token: the
 * supervisor ignores a result whose lease is no longer current, so a late answer from a
 * worker presumed dead can never complete a task twice.
 */
import { z } from 'zod';
import { LIVENESS_STATES } from '../agents/liveness.js';
import { AGENT_PARSERS } from '../agents/types.js';
import { COORD_ERROR_CODES } from '../errors.js';
import { MIN_LOG_BYTES } from '../log/task-log-format.js';
import { TaskIdSchema } from '../tasks/spec.js';

/** Bumped on any incompatible change; `coord:hello` carries it and the worker checks it. */
export const PROTOCOL_VERSION = 4;

const WorkerId = z.string().regex(/^[A-Za-z0-9_-]{1,32}$/);
const Lease = z.string().min(1).max(128);
const RequestId = z.string().min(1).max(128);
const Attempt = z.number().int().min(1);
/** A failure's code: one of coord's codes, parsed here so it is a `CoordErrorCode` from the edge on. */
const ErrorCode = z.enum(COORD_ERROR_CODES);

const taskRef = { taskId: TaskIdSchema, attempt: Attempt, lease: Lease };

/** What a worker needs to execute one attempt of a task. */
export const ExecSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('run'),
    argv: z.array(z.string()).min(1),
    env: z.record(z.string(), z.string()),
  }),
  z.strictObject({
    kind: z.literal('module'),
    module: z.string().min(1),
    export: z.string().min(1),
    input: z.unknown(),
  }),
  /** A coding agent: its argv (built from its profile and the task, prompt included), and how to read its output. */
  z.strictObject({
    kind: z.literal('agent'),
    agent: z.string().min(1),
    argv: z.array(z.string()).min(1),
    env: z.record(z.string(), z.string()),
    parser: z.enum(AGENT_PARSERS),
    /** After the agent's final result, how long it may take to exit before it is ended (the result counts). */
    resultGraceMs: z.number().int().positive(),
    /** Silent and idle this long, both, the agent is stalled and its attempt ended (null: never). */
    stallAfterMs: z.number().int().positive().nullable(),
    /** An interactive session: it stays up after a result, and `coord:input` types into it. */
    interactive: z.boolean().default(false),
  }),
]);
export type Exec = z.infer<typeof ExecSchema>;

// ── parent → worker ───────────────────────────────────────────────────────────

export const Hello = z.strictObject({
  type: z.literal('coord:hello'),
  protocolVersion: z.number().int(),
  workerId: WorkerId,
  worktree: z.string().min(1),
  /** The main checkout, from which a broken worktree is rebuilt. */
  repoRoot: z.string().min(1),
  heartbeatMs: z.number().int().positive(),
  moduleThreads: z.number().int().min(1),
  killGraceMs: z.number().int().nonnegative(),
  /** The supervisor's run id: the prefix of every attempt marker this worker hands out (no dots). */
  runId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
});
export const Assign = z.strictObject({
  type: z.literal('coord:assign'),
  ...taskRef,
  exec: ExecSchema,
  /** The branch the task runs on (`coord/<taskId>`), created at `startCommit`. */
  branch: z.string().min(1),
  startCommit: z.string().regex(/^[0-9a-f]{40,64}$/),
  timeoutMs: z.number().int().positive().nullable(),
  logFile: z.string().min(1),
  /** Task output kept in `logFile` at most: its head and tail, with a note of what was elided. */
  maxLogBytes: z.number().int().min(MIN_LOG_BYTES),
  /** A running task silent this long is reported once (`coord:quiet`), until it prints again; null: never. */
  quietAfterMs: z.number().int().positive().nullable().default(null),
  /** The shared rate limit this attempt starts under: the worker asks (`coord:rate-request`) before it starts; null: none. */
  rateKey: z.string().min(1).max(128).nullable().default(null),
  /** `none`: no checkout before the attempt and no commit after it (the task's `workspace`). */
  workspace: z.enum(['worktree', 'none']).default('worktree'),
});
export const Cancel = z.strictObject({
  type: z.literal('coord:cancel'),
  ...taskRef,
  reason: z.string(),
  /** The first signal to the task's process group (SIGINT lets an agent stop gracefully); SIGKILL follows after the kill grace. */
  graceful: z.enum(['SIGTERM', 'SIGINT']).default('SIGTERM'),
});
export const Proceed = z.strictObject({ type: z.literal('coord:proceed'), requestId: RequestId });
export const Wait = z.strictObject({
  type: z.literal('coord:wait'),
  requestId: RequestId,
  retryAfterMs: z.number().int().nonnegative(),
});
export const RateGrant = z.strictObject({ type: z.literal('coord:rate-grant'), requestId: RequestId, key: z.string() });
export const RateWait = z.strictObject({
  type: z.literal('coord:rate-wait'),
  requestId: RequestId,
  key: z.string(),
  retryAfterMs: z.number().int().nonnegative(),
});
/**
 * Predicted conflicts of `taskId`'s work with other tasks': the answer to `coord:conflict-check`
 * (with its `requestId`), or unasked when the supervisor's periodic check finds one (null).
 */
export const Conflict = z.strictObject({
  type: z.literal('coord:conflict'),
  requestId: RequestId.nullable(),
  taskId: TaskIdSchema,
  conflicts: z.array(z.strictObject({ taskId: TaskIdSchema, files: z.array(z.string()) })),
});
/**
 * Type a message into the attempt's live session (the mailbox), if it has been quiet for
 * `quietWindowMs`; the worker answers `coord:input-result`. `text` is already cleaned
 * (src/agents/payload.ts); the worker ends it with Enter.
 */
export const Input = z.strictObject({
  type: z.literal('coord:input'),
  ...taskRef,
  inputId: RequestId,
  text: z.string().min(1).max(1024 * 1024),
  quietWindowMs: z.number().int().nonnegative(),
});
export const Drain = z.strictObject({ type: z.literal('coord:drain'), deadlineMs: z.number().int().nonnegative() });
export const Shutdown = z.strictObject({ type: z.literal('coord:shutdown'), graceMs: z.number().int().nonnegative() });

// ── worker → parent ───────────────────────────────────────────────────────────

export const Ready = z.strictObject({
  type: z.literal('coord:ready'),
  workerId: WorkerId,
  pid: z.number().int().positive(),
  protocolVersion: z.number().int(),
});
export const Heartbeat = z.strictObject({
  type: z.literal('coord:heartbeat'),
  workerId: WorkerId,
  sentAt: z.number(),
  running: z.array(TaskIdSchema),
  rssBytes: z.number().int().nonnegative(),
});
export const Started = z.strictObject({ type: z.literal('coord:started'), ...taskRef, pid: z.number().int().nullable() });
export const Progress = z.strictObject({
  type: z.literal('coord:progress'),
  ...taskRef,
  outputBytes: z.number().int().nonnegative(),
});
/** The task has printed nothing for `quietMs` while running: perhaps it waits for input nobody gives. */
export const Quiet = z.strictObject({
  type: z.literal('coord:quiet'),
  ...taskRef,
  quietMs: z.number().int().nonnegative(),
  /** The last line it printed (cleaned of terminal escapes), or null if it printed nothing. */
  lastLine: z.string().max(500).nullable(),
});
/** What an agent attempt reported about itself: its session, its model, its usage (totals of the attempt). */
export const AgentReport = z.strictObject({
  sessionId: z.string().min(1).max(200).nullable(),
  model: z.string().min(1).max(200).nullable(),
  usage: z.strictObject({
    inputTokens: z.number().int().nonnegative(),
    outputTokens: z.number().int().nonnegative(),
    cacheReadTokens: z.number().int().nonnegative(),
    cacheWriteTokens: z.number().int().nonnegative(),
    costUsd: z.number().nonnegative().nullable(),
  }),
});
export type AgentReport = z.infer<typeof AgentReport>;

export const Complete = z.strictObject({
  type: z.literal('coord:complete'),
  ...taskRef,
  exitCode: z.number().int().nullable(),
  /** A module task's return value (JSON); null for run tasks. */
  result: z.unknown(),
  /** The tip of the task's branch after the attempt. */
  commit: z.string().regex(/^[0-9a-f]{40,64}$/).nullable(),
  durationMs: z.number().nonnegative(),
  /** Agent tasks only. */
  agent: AgentReport.optional(),
});

export const Failed = z.strictObject({
  type: z.literal('coord:failed'),
  ...taskRef,
  code: ErrorCode,
  message: z.string(),
  exitCode: z.number().int().nullable(),
  signal: z.string().nullable(),
  retryable: z.boolean(),
  retryAfterMs: z.number().int().nonnegative().nullable(),
  commit: z.string().regex(/^[0-9a-f]{40,64}$/).nullable(),
  durationMs: z.number().nonnegative(),
  /** The last lines the task printed (at most 10, each at most 500 characters): why, at a glance. */
  outputTail: z.array(z.string().max(500)).max(10).default([]),
  /** Agent tasks only. */
  agent: AgentReport.optional(),
});
/** A worker rebuilt its broken worktree before a task (logged and counted by the supervisor). */
export const WorkspaceRepaired = z.strictObject({
  type: z.literal('coord:workspace-repaired'),
  workerId: WorkerId,
  worktree: z.string().min(1),
  /** What was wrong: `missing`, `no-git-file`, `not-registered`, `no-index` (its checkout never completed), `unusable`. */
  found: z.string().min(1).max(64),
});
export const Request = z.strictObject({
  type: z.literal('coord:request'),
  requestId: RequestId,
  taskId: TaskIdSchema,
  /** What the worker asks leave for, e.g. `"push"` or `"merge"`. */
  action: z.string().min(1).max(64),
});
/** May this attempt start under the shared rate limit of `key`? Answered `coord:rate-grant` or `coord:rate-wait`. */
export const RateRequest = z.strictObject({
  type: z.literal('coord:rate-request'),
  requestId: RequestId,
  ...taskRef,
  key: z.string().min(1).max(128),
  /** Tokens the attempt expects to use (counted against `tokensPerMinute` as they are reported). */
  tokens: z.number().int().nonnegative().default(0),
});
/** An agent's liveness changed (judged by evidence: see src/agents/liveness.ts). */
export const Liveness = z.strictObject({
  type: z.literal('coord:liveness'),
  ...taskRef,
  state: z.enum(LIVENESS_STATES),
});

/** Usage since the last report (deltas), with the agent's session and model once known. */
export const Usage = z.strictObject({
  type: z.literal('coord:usage'),
  ...taskRef,
  inputTokens: z.number().int().nonnegative().default(0),
  outputTokens: z.number().int().nonnegative().default(0),
  cacheReadTokens: z.number().int().nonnegative().optional(),
  cacheWriteTokens: z.number().int().nonnegative().optional(),
  costUsd: z.number().nonnegative().default(0),
  sessionId: z.string().min(1).max(200).nullable().optional(),
  model: z.string().min(1).max(200).nullable().optional(),
});
/**
 * The answer to `coord:input`: `typed` (written to the session, then Enter), `busy` (it printed
 * within the quiet window: `quietForMs` says how long it has been quiet), `gone` (no live
 * interactive session for that attempt).
 */
export const InputResult = z.strictObject({
  type: z.literal('coord:input-result'),
  ...taskRef,
  inputId: RequestId,
  status: z.enum(['typed', 'busy', 'gone']),
  quietForMs: z.number().int().nonnegative().nullable(),
});
export const ConflictCheck = z.strictObject({
  type: z.literal('coord:conflict-check'),
  requestId: RequestId,
  ...taskRef,
});

// ── either direction ──────────────────────────────────────────────────────────

/** The answer to a message that did not parse. Never answered itself (no ping-pong). */
export const ProtocolError = z.strictObject({
  type: z.literal('coord:protocol-error'),
  code: z.literal('PROTOCOL_INVALID'),
  message: z.string(),
  /** The `type` of the refused message when it had a readable one. */
  refusedType: z.string().nullable(),
});

export const ParentMessageSchema = z.discriminatedUnion('type', [
  Hello, Assign, Cancel, Input, Proceed, Wait, RateGrant, RateWait, Conflict, Drain, Shutdown, ProtocolError,
]);
export const WorkerMessageSchema = z.discriminatedUnion('type', [
  Ready, Heartbeat, Started, Progress, Quiet, Liveness, Complete, Failed, WorkspaceRepaired, Request, RateRequest, Usage, InputResult, ConflictCheck, ProtocolError,
]);

/** A message the supervisor sends to a worker. */
export type ParentMessage = z.input<typeof ParentMessageSchema>;
/** A message a worker sends to the supervisor (as parsed, defaults applied). */
export type WorkerMessage = z.output<typeof WorkerMessageSchema>;
export type ParentMessageOf<T extends ParentMessage['type']> = Extract<z.output<typeof ParentMessageSchema>, { type: T }>;
export type WorkerMessageOf<T extends WorkerMessage['type']> = Extract<WorkerMessage, { type: T }>;
/** A worker's message as written by the worker (defaults may be omitted). */
export type WorkerMessageInput = z.input<typeof WorkerMessageSchema>;

/** Messages that expect an answer; a malformed one of these gets a `coord:protocol-error`. */
export const REPLY_EXPECTED: ReadonlySet<string> = new Set([
  'coord:hello', 'coord:assign', 'coord:cancel', 'coord:input',
  'coord:request', 'coord:rate-request', 'coord:conflict-check',
]);
