import { describe, expect, it } from 'vitest';
import { classifyAgentOutcome, reportsResult } from '../../src/agents/classify.js';
import { feed } from './recordings.js';

const asText = { expectsResult: reportsResult('text') };

describe('the text parser (Aider and other unstructured agents)', () => {
  it('has no session and no result; every line is a sign of life', () => {
    const { facts } = feed('text', ['Aider v0.86.1', 'Main model: anthropic/claude-sonnet-4 with diff edit format', '', 'Applied edit to hello.py']);
    expect(facts.sessionId).toBeNull();
    expect(facts.result).toBeNull();
    expect(facts.events).toBe(3);
    expect(facts.lastEventAt).toBe(1_003);
    expect(classifyAgentOutcome(facts, { code: 0, signal: null }, asText)).toEqual({ ok: true });
    expect(classifyAgentOutcome(facts, { code: 1, signal: null }, asText)).toEqual({ ok: false, code: 'TASK_EXIT_NONZERO', message: 'the agent exited with code 1', retryAfterMs: null });
  });

  it('adds up Aider\'s token reports', () => {
    const { facts } = feed('text', [
      'Tokens: 4.6k sent, 1.0k cache write, 2.1k cache hit, 286 received. Cost: $0.02 message, $0.02 session.',
      'Tokens: 12k sent, 1.5k received. Cost: $0.0050 message, $0.03 session.',
    ]);
    expect(facts.usage).toEqual({ inputTokens: 16_600, outputTokens: 1_786, cacheReadTokens: 2_100, cacheWriteTokens: 1_000, costUsd: 0.025 });
  });

  it.each([
    ['litellm.RateLimitError: AnthropicException - {"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}}'],
    ['The API provider has rate limited you. Try again later or check your quotas.'],
    ['openai.RateLimitError: Error code: 429 - {"error":{"message":"Rate limit reached for gpt-4.1. Please try again in 20s."}}'],
  ])('reads a rate limit: %s', (line) => {
    const { facts } = feed('text', [line]);
    expect(facts.rateLimit?.message).toBe(line.slice(0, 500));
    expect(classifyAgentOutcome(facts, { code: 1, signal: null }, asText)).toMatchObject({ code: 'RATE_LIMITED' });
  });

  it('reads the wait a rate-limit message gives', () => {
    const { facts } = feed('text', ['openai.RateLimitError: Error code: 429 - Rate limit reached. Please try again in 20s.']);
    expect(facts.rateLimit?.retryAfterMs).toBe(20_000);
  });

  it.each([
    ['litellm.AuthenticationError: AnthropicException - {"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}'],
    ['litellm.AuthenticationError: OpenAIException - Incorrect API key provided: sk-abc***'],
  ])('reads a refused login: %s', (line) => {
    const { facts } = feed('text', [line]);
    expect(facts.auth?.message).toMatch(/the agent's login \(its provider's API key or its own login\) is missing or was refused$/);
    expect(classifyAgentOutcome(facts, { code: 1, signal: null }, asText)).toMatchObject({ code: 'AGENT_AUTH' });
  });

  it.each([
    ['Add file to the chat? (Y)es/(N)o/(A)ll/(S)kip all/(D)on\'t ask again [Yes]: '],
    ['Allow edits to file that has not been added to the chat? (Y)es/(N)o [Yes]:'],
    ['Overwrite existing file? [y/N] '],
    ['Press Enter to continue...'],
  ])('reads a prompt left open as needing input: %s', (line) => {
    const { facts } = feed('text', [line]);
    expect(facts.needsInput?.message).toBe(`the agent is waiting for an answer: ${line.trim()}`);
    // Even if it then exits 0 (its stdin ended), nobody answered.
    expect(classifyAgentOutcome(facts, { code: 0, signal: null }, asText)).toMatchObject({ code: 'AGENT_NEEDS_INPUT' });
  });

  it('does not take an answered prompt (--yes-always prints the answer) or a mention for one', () => {
    const { facts } = feed('text', [
      'Add file to the chat? (Y)es/(N)o/(A)ll/(S)kip all/(D)on\'t ask again [Yes]: y',
      'Added README.md to the chat.',
      'I added a rate limiter to the API client and a login page.',
      'The tests check the 401 handling.',
    ]);
    expect([facts.needsInput, facts.rateLimit, facts.auth]).toEqual([null, null, null]);
  });

  it('strips terminal escapes and carriage returns before reading', () => {
    const { facts } = feed('text', ['\u001b[31mlitellm.RateLimitError: rate limit exceeded\u001b[0m\r']);
    expect(facts.rateLimit?.message).toBe('litellm.RateLimitError: rate limit exceeded');
  });
});
