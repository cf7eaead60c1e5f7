/**
 * `createSupervisor()` options, validated with zod and completed with defaults. A bad
 * option is a `CONFIG_INVALID` error naming the option, before anything starts.
 */
import { z } from 'zod';
import { COORD_ERROR_CODES, CoordError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { DEFAULT_MAX_LOG_BYTES, MAX_LOG_BYTES, MIN_LOG_BYTES } from '../log/task-log-format.js';
import type { AssignStrategy } from '../pool/assign.js';
import type { WorkerEntry } from '../pool/worker-entry.js';
import type { TaskStore } from '../store/task-store.js';
import os from 'node:os';
import { DEFAULT_MAX_PAYLOAD_BYTES } from '../agents/payload.js';
import { AgentProfileSchema, BudgetsSchema, MergeSchema, PoolSchema, RateLimitSchema } from '../config/sections-schema.js';

/** The host name, made safe as a node id. */
function defaultNodeId(): string {
  return os.hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64) || 'node';
}

/**
 * The schema itself, for the config file's schema (`src/config/schema.ts`), which takes its
 * keys' limits from here rather than repeating them.
 */
export const OptionsSchema = z.strictObject({
  repo: z.string().min(1),
  workers: z.number().int().min(1).max(64).default(4),
  stateDir: z.string().min(1).optional(),
  worktreeRoot: z.string().min(1).optional(),
  baseRef: z.string().min(1).optional(),
  allowDirty: z.boolean().default(false),
  workerCapabilities: z.array(z.string().min(1)).default([]),
  heartbeatMs: z.number().int().min(50).default(2_000),
  moduleThreads: z.number().int().min(1).max(64).default(2),
  killGraceMs: z.number().int().min(0).default(2_000),
  shutdownGraceMs: z.number().int().min(0).default(5_000),
  spawnTimeoutMs: z.number().int().min(100).default(15_000),
  drainDeadlineMs: z.number().int().min(0).default(30_000),
  defaultTimeoutMs: z.number().int().positive().nullable().default(null),
  /** Agent profiles by name, over the built-in ones (the config file's `agents:`). */
  agents: z.record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/), AgentProfileSchema).default({}),
  /** The largest prompt an agent task may have, in UTF-8 bytes (default 64 KiB). */
  maxPromptBytes: z.number().int().min(1).max(1024 * 1024).default(DEFAULT_MAX_PAYLOAD_BYTES),
  /** An agent that sent its final result but has not exited after this long is ended, and the result counts. */
  agentResultGraceMs: z.number().int().positive().default(30_000),
  /** An agent silent and idle this long (no output, no CPU, no file change) is stalled and its attempt ended; null: never. */
  agentStallAfterMs: z.number().int().positive().nullable().default(600_000),
  /** A running task silent this long is reported (`coord:waiting`) as perhaps waiting for input; null: never. */
  quietAfterMs: z.number().int().positive().nullable().default(30_000),
  maxAttempts: z.number().int().min(1).max(100).default(3),
  /**
   * Supervisor crashes a task may be running at (each one releases it at the next start,
   * burning no attempt) before it is dead with `TASK_KILLS_SUPERVISOR`. Drains, stops and
   * workers that could not take a task do not count. Applies to stores opened from a URL.
   */
  maxReleases: z.number().int().min(1).max(100).default(3),
  /** Rate limits a task may wait out (no attempt burnt each time) before it is dead with `RATE_LIMITED`. */
  maxRateLimitWaits: z.number().int().min(0).max(1000).default(5),
  /** How long a rate-limited task waits when the agent did not say when its limit resets. */
  rateLimitDefaultWaitMs: z.number().int().positive().default(60_000),
  /** Task output kept per attempt log (first half as it comes, then the last half); default 50 MiB. */
  maxLogBytes: z.number().int().min(MIN_LOG_BYTES).max(MAX_LOG_BYTES).default(DEFAULT_MAX_LOG_BYTES),
  breaker: z
    .strictObject({
      failureThreshold: z.number().int().min(1).optional(),
      failureWindowMs: z.number().int().positive().optional(),
      openMs: z.number().int().positive().optional(),
      openBackoffFactor: z.number().min(1).optional(),
      maxOpenMs: z.number().int().positive().optional(),
      halfOpenProbes: z.number().int().min(1).optional(),
      closeAfterSuccesses: z.number().int().min(1).optional(),
    })
    .default({}),
  fallback: z
    .strictObject({
      maxResumes: z.number().int().min(0).optional(),
      staleAfterMs: z.number().int().positive().optional(),
      /** Failure codes that start a fallback chain (default: TASK_TIMEOUT, WORKER_HUNG, LEASE_EXPIRED). */
      codes: z.array(z.enum(COORD_ERROR_CODES)).optional(),
    })
    .default({}),
  /** The mailbox: how messages reach agents (see docs/agents.md#the-mailbox). */
  mailbox: z
    .strictObject({
      /** How often unread threads and due deliveries are looked for besides events (default 5 s). */
      pollMs: z.number().int().min(10).default(5_000),
      /** A live session must have been quiet this long before a message is typed in (default 20 s). */
      quietWindowMs: z.number().int().min(0).default(20_000),
      /** A busy live session is looked at again this often (default 5 s). */
      recheckMs: z.number().int().min(10).default(5_000),
      /** How long a delivery may wait for a busy live session before it falls back (default 60 s). */
      maxDeferMs: z.number().int().min(0).default(60_000),
      /** The largest message, in UTF-8 bytes (default 64 KiB). */
      maxMessageBytes: z.number().int().min(1).max(1024 * 1024).default(DEFAULT_MAX_PAYLOAD_BYTES),
      /** Resumes of a session per delivery before a fresh session (default 2). */
      maxResumes: z.number().int().min(0).max(20).default(2),
      /** A session idle longer than this is not resumed: a fresh one gets the thread summary (default 12 h). */
      staleAfterMs: z.number().int().positive().default(12 * 3_600_000),
      /** Tries of one delivery that failed for coord's own reasons (a worker gone mid-typing, a store error) before it is dead (default 8). */
      maxTries: z.number().int().min(1).max(100).default(8),
      /** Turns in a row without a new commit before the task is blocked with LOOP_NO_PROGRESS (default 20). */
      maxNoProgressTurns: z.number().int().min(1).default(20),
      /** Turns in a row with the same finding and no new commit before LOOP_REPEATED_FINDING (default 3). */
      maxRepeatedFindings: z.number().int().min(1).default(3),
    })
    .prefault({}),
  /** Shared rate limits by key (a provider such as `anthropic`, or a task's `rateKey`): see docs/coordination.md. */
  rateLimits: z.record(z.string().min(1).max(128), RateLimitSchema).default({}),
  /** Spending caps in USD (global, per worker, per task), enforced as limits. */
  budgets: BudgetsSchema.optional(),
  /** The test-gated merge queue: completed task branches are tested and merged into `target`. */
  merge: MergeSchema.optional(),
  /** How often running tasks' work is checked for conflicts with each other's and the merge target's (null: only when a branch gets a commit). */
  conflictCheckMs: z.number().int().min(100).nullable().default(30_000),
  /** Which worker gets a ready task: `round-robin`, `capability` (the least specialised capable worker), `locality` (the worker that ran its dependency; idle workers steal). */
  assignment: z.enum(['round-robin', 'capability', 'locality']).default('round-robin'),
  /**
   * Worker pools (docs/intake-and-pools.md): each with its own workers, capabilities, agent,
   * setup and environment. When present they replace `workers` and `workerCapabilities`
   * (which are one implicit pool, `default`).
   */
  pools: z.array(PoolSchema).min(1).max(64).optional(),
  /** A folder watched for task files (docs/intake-and-pools.md); none by default or with `false` (the daemon's default is `<state-dir>/inbox`). */
  inbox: z.union([z.string().min(1), z.literal(false)]).optional(),
  /** Write `results/`, `dlq/` and `heartbeats/` files in the state directory for others to read; default: when there is an inbox. */
  fileOutputs: z.boolean().optional(),
  /** Delete external handoff files once processed, whatever their `remove` says. */
  handoffRemove: z.boolean().default(false),
  /** Observe every machine for the inspector (docs/inspector.md); off, nothing is observed and `supervisor.inspection` is null. */
  inspect: z.boolean().default(true),
  /** Also forward the inspection stream to a Stately inspector's WebSocket server (e.g. `ws://127.0.0.1:8080`). */
  inspectBridge: z.string().regex(/^wss?:\/\/\S+$/, 'a ws:// or wss:// URL').optional(),
  /** Store URL (`sqlite:PATH`, `postgres://…`, `memory:`) or a store instance; default `sqlite:<state-dir>/coord.db`. */
  store: z.union([z.string().min(1), z.custom<TaskStore>((value) => typeof value === 'object' && value !== null && 'claim' in value)]).optional(),
  /** This supervisor's name in a shared store; the same across restarts of one host. */
  nodeId: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/).default(defaultNodeId()),
  /** How long a claim lasts without renewal; a dead supervisor's tasks go back after this. */
  leaseMs: z.number().int().min(200).default(15_000),
  /**
   * The git remote every host shares task branches through (pushed on completion, fetched for
   * dependents that run elsewhere); `false` for none. Default: `origin` when the store is
   * PostgreSQL and the clone has one, else none.
   */
  remote: z.union([z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/), z.literal(false)]).optional(),
  missedHeartbeats: z.number().int().min(1).max(100).default(3),
  restart: z
    .strictObject({
      type: z.enum(['permanent', 'transient', 'temporary']).default('permanent'),
      maxRestarts: z.number().int().min(0).default(5),
      periodMs: z.number().int().positive().default(60_000),
      initialDelayMs: z.number().int().nonnegative().default(200),
      maxDelayMs: z.number().int().nonnegative().default(30_000),
      factor: z.number().min(1).default(3),
      resetAfterMs: z.number().int().positive().default(60_000),
      /** An idle worker dying sooner than this after ready is unstable: only such deaths count against maxRestarts. */
      minUptimeMs: z.number().int().nonnegative().default(1_000),
      /** A slot out of restart intensity waits this long, doubling each time up to maxCoolDownMs, then spawns again. */
      initialCoolDownMs: z.number().int().nonnegative().default(10_000),
      maxCoolDownMs: z.number().int().nonnegative().default(300_000),
    })
    .prefault({}),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  logStderrLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('silent'),
  logger: z.custom<Logger>((value) => typeof value === 'object' && value !== null && 'child' in value).optional(),
  strategy: z.custom<AssignStrategy>((value) => typeof value === 'function').optional(),
  workerEntry: z.custom<WorkerEntry>((value) => typeof value === 'object' && value !== null && 'path' in value).optional(),
  random: z.custom<() => number>((value) => typeof value === 'function').optional(),
});

/** Options accepted by `createSupervisor()`; every field but `repo` has a default. */
export type SupervisorOptions = z.input<typeof OptionsSchema>;
/** Options after validation, defaults applied. */
export type ResolvedOptions = z.output<typeof OptionsSchema>;

/** Validates options, throwing `CONFIG_INVALID` with the offending option named. */
export function resolveOptions(options: SupervisorOptions): ResolvedOptions {
  const parsed = OptionsSchema.superRefine(checkPools).safeParse(options);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue?.path.join('.') || 'options';
  throw new CoordError('CONFIG_INVALID', `invalid option ${where}: ${issue?.message ?? 'invalid'}`, {
    details: { issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) },
  });
}

/** Pools are told apart by id, and the worker count they add up to stays within the limit. */
function checkPools(options: z.output<typeof OptionsSchema>, ctx: z.RefinementCtx): void {
  if (options.pools === undefined) return;
  const seen = new Set<string>();
  options.pools.forEach((pool, index) => {
    if (seen.has(pool.id)) ctx.addIssue({ code: 'custom', path: ['pools', index, 'id'], message: `a second pool "${pool.id}"` });
    seen.add(pool.id);
  });
  const total = options.pools.reduce((sum, pool) => sum + pool.workers, 0);
  if (total > 64) ctx.addIssue({ code: 'custom', path: ['pools'], message: `the pools have ${total} workers in all; at most 64` });
}
