/**
 * How an agent attempt ended, from what its output said and how its process exited. Never by
 * the exit code alone: Claude Code exits 1 with a result that says why (a rate limit, a
 * refused key), exits 0 with `is_error: true` on some failures, and a CLI killed after a
 * successful result (one that hung instead of exiting) has done its work.
 *
 * The order, first match wins:
 *
 * 1. a successful ending (a result that is not an error; for an agent with no structured
 *    output, exit 0) with no unanswered prompt → ok, whatever the exit code or signal after
 *    it. Rate limits and refused logins met on the way were retried past.
 * 2. a rate limit → RATE_LIMITED, with how long to wait (`retryAfterMs`, else until `resetAt`);
 * 3. a missing or refused login → AGENT_AUTH (the parser's message says which login);
 * 4. a prompt nobody answers (or, for Claude Code, a tool a -p run refused) → AGENT_NEEDS_INPUT;
 * 5. a result that says it failed (`is_error`, Codex's `turn.failed`) → AGENT_FAILED, even
 *    when Claude's `subtype` is `success`;
 * 6. another API error the agent stopped on → AGENT_FAILED;
 * 7. exit 0 with no result from an agent that reports one → AGENT_FAILED ("exited without a
 *    result": it crashed politely, or its output was not what the profile's parser reads);
 * 8. otherwise (non-zero exit, a signal, no evidence) → TASK_EXIT_NONZERO.
 */
import type { AgentFacts, AgentOutcome, AgentParserKind } from './types.js';

/** How a process ended (node's `exit` event: one of the two is set). */
export interface AgentExit {
  code: number | null;
  signal: string | null;
}

export interface ClassifyOptions {
  /**
   * The agent prints a final result event (true for every structured format); false for
   * `text`, where exit 0 is the only sign of success. Default true.
   */
  expectsResult?: boolean;
  /** Now (epoch ms), to turn a `resetAt` into a wait; default: when the last event came. */
  now?: number;
}

/** True for the formats that end with a result event. */
export function reportsResult(kind: AgentParserKind): boolean {
  return kind !== 'text';
}

function exitText(exit: AgentExit): string {
  if (exit.signal !== null) return `was killed by ${exit.signal}`;
  if (exit.code === null) return 'ended without an exit status';
  return `exited with code ${exit.code}`;
}

function failed(code: Exclude<AgentOutcome, { ok: true }>['code'], message: string, retryAfterMs: number | null = null): AgentOutcome {
  return { ok: false, code, message, retryAfterMs };
}

/**
 * Classifies an attempt. Pure.
 *
 * @example
 * classifyAgentOutcome(parser.facts(), { code: 1, signal: null }, { expectsResult: reportsResult('claude-stream-json') });
 * // → { ok: false, code: 'RATE_LIMITED', message: 'Claude Code: API Error: Request rejected (429) …', retryAfterMs: 1040 }
 */
export function classifyAgentOutcome(facts: AgentFacts, exit: AgentExit, options: ClassifyOptions = {}): AgentOutcome {
  const expectsResult = options.expectsResult ?? true;
  const exitedZero = exit.code === 0 && exit.signal === null;
  const succeeded = facts.result !== null ? !facts.result.isError : !expectsResult && exitedZero;
  if (succeeded && facts.needsInput === null) return { ok: true };

  if (facts.rateLimit !== null) {
    const { retryAfterMs, resetAt, message } = facts.rateLimit;
    const now = options.now ?? facts.lastEventAt;
    const wait = retryAfterMs ?? (resetAt !== null && now !== null ? Math.max(0, resetAt - now) : null);
    return failed('RATE_LIMITED', message, wait);
  }
  if (facts.auth !== null) return failed('AGENT_AUTH', facts.auth.message);
  if (facts.needsInput !== null) return failed('AGENT_NEEDS_INPUT', facts.needsInput.message);
  if (facts.result?.isError) {
    const said = facts.result.text ?? facts.apiError?.message ?? `subtype ${facts.result.subtype ?? 'unknown'}`;
    return failed('AGENT_FAILED', `the agent's result is an error: ${said}`);
  }
  if (facts.apiError !== null) return failed('AGENT_FAILED', facts.apiError.message);
  if (exitedZero) {
    return failed('AGENT_FAILED', facts.events === 0
      ? 'the agent exited without a result (exit 0, and no event its parser could read: is the profile\'s output format right?)'
      : 'the agent exited without a result (exit 0)');
  }
  const context = !expectsResult ? '' : facts.events === 0 ? ', with no event its parser could read' : ' before its result';
  return failed('TASK_EXIT_NONZERO', `the agent ${exitText(exit)}${context}`);
}
