/**
 * The config file's sections: agent profiles, rate limits, budgets, the merge queue and
 * worker pools. All are validated; the first four are supervisor options. Worker pools are
 * for a later version: a file that has them is checked now, and loading it says they are
 * not enforced yet (see `loadRunConfig`'s warnings).
 */
import { z } from 'zod';
import { AGENT_PARSERS } from '../agents/types.js';

const Name = z.string().min(1);
const PositiveInt = z.number().int().min(1);
const Usd = z.number().positive();
/** A command as an argv: no shell, so no quoting to get wrong. */
const Argv = z.array(Name).min(1);
/** Environment variables added to a process's own. */
const Env = z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name'), z.string());

/** What a model costs, in USD per million tokens. */
const PriceSchema = z.strictObject({
  inputPerMTok: z.number().nonnegative(),
  outputPerMTok: z.number().nonnegative(),
  cacheReadPerMTok: z.number().nonnegative().optional(),
  cacheWritePerMTok: z.number().nonnegative().optional(),
});

/** How to run one coding agent: its command, and what its models cost. */
export const AgentProfileSchema = z.strictObject({
  command: Name,
  args: z.array(z.string()).optional(),
  env: Env.optional(),
  provider: Name.optional(),
  /** By model name. */
  prices: z.record(Name, PriceSchema).optional(),
  /** For a profile that is not built in: how to read its output (default text). */
  parser: z.enum(AGENT_PARSERS).optional(),
  /** For a profile that is not built in: the argv that resumes a session, with `{session}` (e.g. ["--resume", "{session}"]). */
  resumeArgs: z.array(z.string()).min(1).refine((args) => args.some((a) => a.includes('{session}')), 'must hold {session} where the session id goes').optional(),
});

/** The limits of one rate-limit key (a provider, an API key). */
export const RateLimitSchema = z.strictObject({
  requestsPerMinute: PositiveInt.optional(),
  tokensPerMinute: PositiveInt.optional(),
  maxConcurrent: PositiveInt.optional(),
  /** The window the per-minute counts apply to, in ms (default 60 000: a minute). */
  windowMs: z.number().int().min(100).optional(),
});

/** Spending limits in USD; a warning at `warnAt` of each. */
export const BudgetsSchema = z.strictObject({
  globalUsd: Usd.optional(),
  perWorkerUsd: Usd.optional(),
  perTaskUsd: Usd.optional(),
  warnAt: z.number().gt(0).max(1).default(0.8),
});

/** The merge queue: completed branches are tested together and merged into `target`. */
export const MergeSchema = z.strictObject({
  target: z.string().regex(/^(?!-)(?!.*\.\.)[A-Za-z0-9._/-]{1,200}$/, 'a branch name'),
  test: Argv,
  batch: PositiveInt.max(64).default(4),
  mode: z.enum(['merge', 'squash']).default('merge'),
  /** What a failed merge does: `report` (in the summary and events), or `requeue` (also a message to the agent, whose task runs again on its branch). */
  onFailure: z.enum(['report', 'requeue']).default('report'),
});

/** A group of workers with its own capabilities, agent and setup (docs/intake-and-pools.md). */
export const PoolSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit'),
  /** coord's own workers in the pool; 0 for a pool whose capacity is only announced by handoff files. */
  workers: z.number().int().min(0).max(64),
  capabilities: z.array(Name).default([]),
  /** An agent profile's name (a key of `agents`): the pool takes that agent's tasks (and only those, when other pools take the rest). */
  agent: Name.optional(),
  /** Commands run in each worker's worktree before its first task (once per worktree): one argv, or a list of them. */
  setup: z.union([Argv, z.array(Argv).min(1)], { error: 'must be a command (["npm", "ci"]) or a list of commands' }).optional(),
  /** Environment of the pool's setup commands and of every task its workers run (under the task's own `env`). */
  env: Env.default({}),
  /** Ready workers (its own and announced ones) the pool needs to count as ready; default 1. */
  minReady: z.number().int().min(1).max(1024).default(1),
});

/** A pool as declared, defaults applied. */
export type PoolConfig = z.output<typeof PoolSchema>;

/** The five sections, each optional. */
export const SECTIONS_SHAPE = {
  agents: z.record(Name, AgentProfileSchema).optional(),
  rateLimits: z.record(Name, RateLimitSchema).optional(),
  budgets: BudgetsSchema.optional(),
  merge: MergeSchema.optional(),
  pools: z.array(PoolSchema).optional(),
};

/** The names of the sections, in the order the docs list them. */
export const SECTION_KEYS = ['agents', 'rateLimits', 'budgets', 'merge', 'pools'] as const satisfies ReadonlyArray<keyof typeof SECTIONS_SHAPE>;

/** One of the sections. */
export type SectionKey = (typeof SECTION_KEYS)[number];
