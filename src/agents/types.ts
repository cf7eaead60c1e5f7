/**
 * What coord knows about an agent run, whichever CLI it is: the facts a parser reads from the
 * agent's structured output (its session, its usage, its final result, the errors it met),
 * and the shapes the store, the protocol and the summary keep of them.
 */

/** The output formats coord can read. */
export const AGENT_PARSERS = ['claude-stream-json', 'codex-json', 'gemini-stream-json', 'text'] as const;
export type AgentParserKind = (typeof AGENT_PARSERS)[number];

/** Tokens and money an attempt used, summed over the run. */
export interface AgentUsage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  /** USD: as the CLI reported it, else computed from the profile's prices; null when neither is known. */
  costUsd: number | null;
}

export const NO_USAGE: AgentUsage = Object.freeze({ inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, costUsd: null });

/** An agent's session, as the store and the summary keep it. */
export interface AgentSession {
  /** The profile name (`claude`, `codex`, …, or one from the config). */
  agent: string;
  /** The CLI's own session id (what `--resume` takes). */
  id: string;
}

/** What a parser learned from an agent's output so far. Times are epoch ms (passed in, never read from a clock). */
export interface AgentFacts {
  sessionId: string | null;
  model: string | null;
  /** Totals so far. `costUsd` is the CLI's own figure here, or null; prices are applied later. */
  usage: AgentUsage;
  /** The final result event, once it came. */
  result: { isError: boolean; subtype: string | null; text: string | null; at: number } | null;
  /** A rate limit met (HTTP 429, a usage-limit message): when it is known, how long until it resets. */
  rateLimit: { retryAfterMs: number | null; resetAt: number | null; message: string } | null;
  /** A login missing or refused (HTTP 401/403, "invalid api key", "please log in"). */
  auth: { message: string } | null;
  /** The agent asked for input a non-interactive run cannot give. */
  needsInput: { message: string } | null;
  /** Another API error (status when known). */
  apiError: { status: number | null; message: string } | null;
  /** When the last structured event came (null: none yet), and how many there were. */
  lastEventAt: number | null;
  events: number;
}

/** Reads an agent's output line by line (lines without their line ending). */
export interface AgentOutputParser {
  readonly kind: AgentParserKind;
  /** Feeds one line; returns true when it changed the facts (a usage or session update worth sending on). */
  push(line: string, now: number): boolean;
  facts(): AgentFacts;
}

/** How an agent attempt ended, judged from its facts and its exit (never by the exit code alone). */
export type AgentOutcome =
  | { ok: true }
  | { ok: false; code: 'RATE_LIMITED' | 'AGENT_AUTH' | 'AGENT_NEEDS_INPUT' | 'AGENT_FAILED' | 'TASK_EXIT_NONZERO'; message: string; retryAfterMs: number | null };
