import { describe, expect, it } from 'vitest';
import { classifyAgentOutcome, reportsResult, type AgentExit } from '../../src/agents/classify.js';
import { emptyFacts } from '../../src/agents/parsers/lines.js';
import { AGENT_PARSERS, type AgentFacts } from '../../src/agents/types.js';

const ok = { isError: false, subtype: 'success', text: 'done', at: 10 };
const bad = { isError: true, subtype: 'success', text: 'API Error: Request rejected (429)', at: 10 };
const rateLimit = { retryAfterMs: 5_000, resetAt: null, message: 'rate limited (429)' };
const auth = { message: 'ANTHROPIC_API_KEY was refused (401)' };
const needsInput = { message: 'needed approval for Bash' };
const apiError = { status: 529, message: 'overloaded' };

function facts(over: Partial<AgentFacts> = {}): AgentFacts {
  return { ...emptyFacts(), events: 3, lastEventAt: 10, ...over };
}

const exits: Record<string, AgentExit> = {
  zero: { code: 0, signal: null },
  one: { code: 1, signal: null },
  killed: { code: null, signal: 'SIGTERM' },
  unknown: { code: null, signal: null },
};

describe('classifyAgentOutcome', () => {
  describe('a successful result is ok, whatever the exit', () => {
    it.each(Object.entries(exits))('exit %s', (_name, exit) => {
      expect(classifyAgentOutcome(facts({ result: ok }), exit)).toEqual({ ok: true });
    });

    it('even after rate limits, refused logins and API errors it retried past', () => {
      expect(classifyAgentOutcome(facts({ result: ok, rateLimit, auth, apiError }), exits.zero!)).toEqual({ ok: true });
    });

    it('but not with a prompt nobody answered (a tool a -p run refused)', () => {
      expect(classifyAgentOutcome(facts({ result: ok, needsInput }), exits.zero!)).toEqual({ ok: false, code: 'AGENT_NEEDS_INPUT', message: needsInput.message, retryAfterMs: null });
    });
  });

  describe('the evidence, in order', () => {
    it('a rate limit first, with its wait', () => {
      expect(classifyAgentOutcome(facts({ result: bad, rateLimit, auth, needsInput, apiError }), exits.one!)).toEqual({ ok: false, code: 'RATE_LIMITED', message: 'rate limited (429)', retryAfterMs: 5_000 });
    });

    it('a rate limit known only by its reset: the wait from now, or from the last event', () => {
      const limit = { retryAfterMs: null, resetAt: 70_000, message: 'resets at …' };
      expect(classifyAgentOutcome(facts({ rateLimit: limit }), exits.one!, { now: 10_000 })).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 60_000 });
      expect(classifyAgentOutcome(facts({ rateLimit: limit, lastEventAt: 69_000 }), exits.one!)).toMatchObject({ retryAfterMs: 1_000 });
      expect(classifyAgentOutcome(facts({ rateLimit: limit }), exits.one!, { now: 80_000 })).toMatchObject({ retryAfterMs: 0 });
      expect(classifyAgentOutcome(facts({ rateLimit: limit, lastEventAt: null }), exits.one!)).toMatchObject({ retryAfterMs: null });
    });

    it('a rate limit with no known wait', () => {
      expect(classifyAgentOutcome(facts({ rateLimit: { retryAfterMs: null, resetAt: null, message: '429' } }), exits.one!)).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: null });
    });

    it('then a refused login, with the parser\'s message (which login)', () => {
      expect(classifyAgentOutcome(facts({ result: bad, auth, needsInput, apiError }), exits.one!)).toEqual({ ok: false, code: 'AGENT_AUTH', message: auth.message, retryAfterMs: null });
    });

    it('then a prompt nobody answers, also when the agent was killed waiting', () => {
      expect(classifyAgentOutcome(facts({ needsInput, apiError }), exits.killed!)).toMatchObject({ code: 'AGENT_NEEDS_INPUT' });
    });

    it('then a result that says it failed, even with subtype success', () => {
      expect(classifyAgentOutcome(facts({ result: { ...bad, text: 'Maximum session turns exceeded' }, apiError }), exits.one!)).toEqual({
        ok: false, code: 'AGENT_FAILED', message: "the agent's result is an error: Maximum session turns exceeded", retryAfterMs: null,
      });
      expect(classifyAgentOutcome(facts({ result: { ...bad, text: null } }), exits.zero!)).toMatchObject({ code: 'AGENT_FAILED', message: "the agent's result is an error: subtype success" });
      expect(classifyAgentOutcome(facts({ result: { ...bad, text: null }, apiError }), exits.zero!)).toMatchObject({ message: "the agent's result is an error: overloaded" });
    });

    it('then another API error it stopped on, without a result', () => {
      expect(classifyAgentOutcome(facts({ apiError }), exits.one!)).toEqual({ ok: false, code: 'AGENT_FAILED', message: 'overloaded', retryAfterMs: null });
    });

    it('then exit 0 without a result', () => {
      expect(classifyAgentOutcome(facts(), exits.zero!)).toEqual({ ok: false, code: 'AGENT_FAILED', message: 'the agent exited without a result (exit 0)', retryAfterMs: null });
      expect(classifyAgentOutcome(facts({ events: 0 }), exits.zero!)).toMatchObject({ code: 'AGENT_FAILED', message: expect.stringContaining('is the profile\'s output format right?') });
    });

    it('and last a non-zero exit, a signal, or no status, with nothing else to go on', () => {
      expect(classifyAgentOutcome(facts(), exits.one!)).toEqual({ ok: false, code: 'TASK_EXIT_NONZERO', message: 'the agent exited with code 1 before its result', retryAfterMs: null });
      expect(classifyAgentOutcome(facts(), exits.killed!)).toMatchObject({ code: 'TASK_EXIT_NONZERO', message: 'the agent was killed by SIGTERM before its result' });
      expect(classifyAgentOutcome(facts({ events: 0 }), exits.unknown!)).toMatchObject({ code: 'TASK_EXIT_NONZERO', message: 'the agent ended without an exit status, with no event its parser could read' });
    });
  });

  describe('an agent with no result event (text)', () => {
    const asText = { expectsResult: false };

    it('succeeds on exit 0 and fails on anything else', () => {
      expect(classifyAgentOutcome(facts(), exits.zero!, asText)).toEqual({ ok: true });
      expect(classifyAgentOutcome(facts(), exits.one!, asText)).toEqual({ ok: false, code: 'TASK_EXIT_NONZERO', message: 'the agent exited with code 1', retryAfterMs: null });
      expect(classifyAgentOutcome(facts(), exits.killed!, asText)).toMatchObject({ code: 'TASK_EXIT_NONZERO', message: 'the agent was killed by SIGTERM' });
    });

    it('reads its phrases when it did not exit 0', () => {
      expect(classifyAgentOutcome(facts({ rateLimit }), exits.one!, asText)).toMatchObject({ code: 'RATE_LIMITED' });
      expect(classifyAgentOutcome(facts({ auth }), exits.one!, asText)).toMatchObject({ code: 'AGENT_AUTH' });
      expect(classifyAgentOutcome(facts({ needsInput }), exits.zero!, asText)).toMatchObject({ code: 'AGENT_NEEDS_INPUT' });
    });
  });

  it('knows which formats end with a result', () => {
    expect(AGENT_PARSERS.filter(reportsResult)).toEqual(['claude-stream-json', 'codex-json', 'gemini-stream-json']);
  });

  it('is pure: the same facts give the same outcome, and the facts are not touched', () => {
    const input = facts({ result: bad, rateLimit });
    const copy = structuredClone(input);
    expect(classifyAgentOutcome(input, exits.one!)).toEqual(classifyAgentOutcome(input, exits.one!));
    expect(input).toEqual(copy);
  });

  it('covers every combination with exactly one outcome whose code is a known one', () => {
    const codes = new Set(['RATE_LIMITED', 'AGENT_AUTH', 'AGENT_NEEDS_INPUT', 'AGENT_FAILED', 'TASK_EXIT_NONZERO']);
    const options = [null, ok, bad] as const;
    for (const result of options) for (const r of [null, rateLimit]) for (const a of [null, auth]) for (const n of [null, needsInput]) for (const e of [null, apiError]) {
      for (const exit of Object.values(exits)) {
        for (const expectsResult of [true, false]) {
          const outcome = classifyAgentOutcome(facts({ result, rateLimit: r, auth: a, needsInput: n, apiError: e }), exit, { expectsResult });
          if (outcome.ok) {
            expect(n).toBeNull();
            expect(result === ok || (result === null && !expectsResult && exit === exits.zero)).toBe(true);
          } else {
            expect(codes.has(outcome.code)).toBe(true);
            expect(outcome.message).not.toBe('');
            if (outcome.code !== 'RATE_LIMITED') expect(outcome.retryAfterMs).toBeNull();
          }
        }
      }
    }
  });
});
