import { describe, expect, it } from 'vitest';
import { classifyAgentOutcome } from '../../src/agents/classify.js';
import { createParser } from '../../src/agents/parsers/index.js';
import { feed, firstValue, recording } from './recordings.js';

/** The emulator's usage per answer (see the recordings' README). */
const ONE_ANSWER = { inputTokens: 1200, outputTokens: 80, cacheReadTokens: 300, cacheWriteTokens: 50 };
const fail = { code: 1, signal: null };
const zero = { code: 0, signal: null };

describe('the claude-stream-json parser, on the real CLI\'s recordings', () => {
  it('reads a text answer: session, model, usage and cost from the result', () => {
    const lines = recording('claude-text.jsonl');
    const { facts, changed } = feed('claude-stream-json', lines);
    expect(facts.sessionId).toBe(firstValue('claude-text.jsonl', 'session_id'));
    expect(facts.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(facts.model).toBe('claude-opus-5-5');
    expect(facts.usage).toEqual({ ...ONE_ANSWER, costUsd: 0.00671 });
    expect(facts.result).toEqual({ isError: false, subtype: 'success', text: 'Hello from the emulator.', at: 1_002 });
    expect(facts.events).toBe(3);
    expect(facts.lastEventAt).toBe(1_002);
    expect([facts.rateLimit, facts.auth, facts.needsInput, facts.apiError]).toEqual([null, null, null, null]);
    expect(changed).toEqual([true, true, true]);
    expect(classifyAgentOutcome(facts, zero)).toEqual({ ok: true });
  });

  it('shows the start-of-stream usage while a message is in flight, then the result\'s totals', () => {
    const parser = createParser('claude-stream-json');
    const [init, assistant, result] = recording('claude-text.jsonl');
    parser.push(init!, 1);
    parser.push(assistant!, 2);
    // The CLI repeats the stream's message_start usage: its output count is 1.
    expect(parser.facts().usage).toEqual({ ...ONE_ANSWER, outputTokens: 1, costUsd: null });
    parser.push(result!, 3);
    expect(parser.facts().usage).toEqual({ ...ONE_ANSWER, costUsd: 0.00671 });
  });

  it('counts a message split over several assistant lines once (a text and a tool call, same id)', () => {
    const lines = recording('claude-bash-commit.jsonl');
    const ids = lines.map((line) => (JSON.parse(line) as { message?: { id?: string } }).message?.id).filter((id) => id?.startsWith('msg_'));
    expect(ids[0]).toBe(ids[1]);
    const parser = createParser('claude-stream-json');
    lines.slice(0, 3).forEach((line, i) => parser.push(line, i));
    expect(parser.facts().usage.inputTokens).toBe(1200);
    const { facts } = feed(parser, lines.slice(3));
    expect(facts.usage).toEqual({ inputTokens: 2400, outputTokens: 160, cacheReadTokens: 600, cacheWriteTokens: 100, costUsd: 0.01342 });
    expect(facts.result?.text).toBe('Created hello.txt and committed it.');
    expect(classifyAgentOutcome(facts, zero)).toEqual({ ok: true });
  });

  it('reads a 429 the CLI retried and gave up on: is_error with subtype success is a rate limit', () => {
    const { facts } = feed('claude-stream-json', recording('claude-rate-limit.jsonl'));
    expect(facts.result).toMatchObject({ isError: true, subtype: 'success' });
    expect(facts.rateLimit?.message).toContain('429');
    // The wait is the CLI's last retry delay (the retry-after plus its backoff).
    const delays = recording('claude-rate-limit.jsonl').map((l) => (JSON.parse(l) as { retry_delay_ms?: number }).retry_delay_ms).filter((d) => d !== undefined);
    expect(delays).toHaveLength(2);
    expect(facts.rateLimit?.retryAfterMs).toBe(delays.at(-1));
    expect(facts.usage).toEqual({ inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, costUsd: 0 });
    expect(classifyAgentOutcome(facts, fail)).toEqual({ ok: false, code: 'RATE_LIMITED', message: facts.rateLimit!.message, retryAfterMs: delays.at(-1) });
  });

  it('reports a rate limit live, from the first api_retry line', () => {
    const parser = createParser('claude-stream-json');
    const [init, retry] = recording('claude-rate-limit.jsonl');
    parser.push(init!, 1);
    expect(parser.push(retry!, 2)).toBe(true);
    expect(parser.facts().rateLimit).toMatchObject({ retryAfterMs: (JSON.parse(retry!) as { retry_delay_ms: number }).retry_delay_ms, resetAt: null });
    expect(parser.facts().rateLimit?.message).toMatch(/rate limited \(429\); retry 1\/2 in \d+ ms/);
  });

  it('reads a 429 without retries: a rate limit with no known wait', () => {
    const { facts } = feed('claude-stream-json', recording('claude-rate-limit-no-retry.jsonl'));
    expect(facts.rateLimit).toMatchObject({ retryAfterMs: null, resetAt: null });
    expect(classifyAgentOutcome(facts, fail)).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: null });
  });

  it('reads a refused key (401) and says which login: ANTHROPIC_API_KEY', () => {
    const { facts } = feed('claude-stream-json', recording('claude-auth-401.jsonl'));
    expect(facts.auth?.message).toBe('ANTHROPIC_API_KEY was refused (401): Invalid API key · Fix external API key. Set a valid key, or unset it and log in with `claude /login`');
    expect(facts.rateLimit).toBeNull();
    expect(classifyAgentOutcome(facts, fail)).toEqual({ ok: false, code: 'AGENT_AUTH', message: facts.auth!.message, retryAfterMs: null });
  });

  it('reads a missing login: not logged in, log in with claude /login or set ANTHROPIC_API_KEY', () => {
    const { facts } = feed('claude-stream-json', recording('claude-not-logged-in.jsonl'));
    expect(facts.auth?.message).toMatch(/^Claude Code is not logged in: Not logged in · Please run \/login\. Log in with `claude \/login`.* or set ANTHROPIC_API_KEY$/);
    expect(classifyAgentOutcome(facts, fail).ok).toBe(false);
    expect(classifyAgentOutcome(facts, fail)).toMatchObject({ code: 'AGENT_AUTH' });
  });

  it('keeps the session id on --resume, and takes this run\'s cost, not the session\'s total', () => {
    const resumed = recording('claude-resume.jsonl');
    const { facts } = feed('claude-stream-json', resumed);
    expect(facts.sessionId).toBe(firstValue('claude-text.jsonl', 'session_id'));
    const result = JSON.parse(resumed.at(-1)!) as { total_cost_usd: number };
    expect(result.total_cost_usd).toBeCloseTo(0.01342, 10);
    expect(facts.usage).toEqual({ ...ONE_ANSWER, costUsd: 0.00671 });
  });

  it('reads a resume of an unknown session: a failed result whose text is the CLI\'s errors', () => {
    const { facts } = feed('claude-stream-json', recording('claude-resume-unknown.jsonl'));
    expect(facts.result).toMatchObject({ isError: true, subtype: 'error_during_execution', text: 'No conversation found with session ID: 00000000-0000-4000-8000-000000000000' });
    expect(facts.sessionId).toBe('00000000-0000-4000-8000-000000000000');
    expect(classifyAgentOutcome(facts, fail)).toMatchObject({ code: 'AGENT_FAILED', message: expect.stringContaining('No conversation found') });
  });

  it('reads a tool a -p run refused as needing input, live and in the result', () => {
    const lines = recording('claude-permission-denied.jsonl');
    const at = lines.findIndex((l) => l.includes('"subtype":"permission_denied"'));
    const parser = createParser('claude-stream-json');
    lines.slice(0, at + 1).forEach((line, i) => parser.push(line, i));
    expect(parser.facts().needsInput?.message).toContain('needs approval');
    const { facts } = feed(parser, lines.slice(at + 1));
    expect(facts.needsInput?.message).toBe('Claude Code needed approval for Bash (touch denied.txt), which a -p run cannot give: allow it (--allowedTools, a permission mode) or change the prompt');
    expect(facts.result?.isError).toBe(false);
    expect(classifyAgentOutcome(facts, zero)).toMatchObject({ ok: false, code: 'AGENT_NEEDS_INPUT' });
  });

  it('takes the final output count from --include-partial-messages before the result', () => {
    const lines = recording('claude-partial-messages.jsonl');
    const delta = lines.findIndex((l) => l.includes('"type":"message_delta"'));
    const parser = createParser('claude-stream-json');
    lines.slice(0, delta + 1).forEach((line, i) => parser.push(line, i));
    expect(parser.facts().usage).toEqual({ ...ONE_ANSWER, costUsd: null });
    const { facts } = feed(parser, lines.slice(delta + 1));
    expect(facts.usage).toEqual({ ...ONE_ANSWER, costUsd: 0.00671 });
    expect(facts.result?.text).toBe('Streamed in pieces.');
  });

  it('reads the output of a PTY: \\r\\n endings and a trailing cursor escape', () => {
    const lines = recording('claude-pty-text.raw');
    expect(lines.slice(0, -1).every((l) => l.endsWith('\r'))).toBe(true);
    expect(lines.at(-1)).toBe('\u001b[?25h');
    const { facts } = feed('claude-stream-json', lines);
    expect(facts.events).toBe(3);
    expect(facts.result).toMatchObject({ isError: false, text: 'Hello through a PTY.' });
    expect(facts.usage).toEqual({ ...ONE_ANSWER, costUsd: 0.00671 });
  });
});

describe('the claude-stream-json parser, on synthetic lines', () => {
  const init = JSON.stringify({ type: 'system', subtype: 'init', session_id: 's-1', model: 'claude-x', apiKeySource: 'ANTHROPIC_API_KEY' });
  const assistant = (id: string, output: number) =>
    JSON.stringify({ type: 'assistant', message: { id, model: 'claude-x', content: [{ type: 'text', text: 'hi' }], usage: { input_tokens: 10, output_tokens: output, cache_read_input_tokens: 1, cache_creation_input_tokens: 2 } }, session_id: 's-1' });

  it('sums distinct messages and replaces a repeated one', () => {
    const { facts } = feed('claude-stream-json', [init, assistant('m1', 1), assistant('m1', 1), assistant('m2', 5)]);
    expect(facts.usage).toEqual({ inputTokens: 20, outputTokens: 6, cacheReadTokens: 2, cacheWriteTokens: 4, costUsd: null });
  });

  it('tells a new event from a change: a repeated line changes nothing', () => {
    const { changed, facts } = feed('claude-stream-json', [init, assistant('m1', 1), assistant('m1', 1), 'banner', '']);
    expect(changed).toEqual([true, true, false, false, false]);
    expect(facts.events).toBe(3);
  });

  it('takes the final output count of --include-partial-messages stream events', () => {
    const start = JSON.stringify({ type: 'stream_event', event: { type: 'message_start', message: { id: 'm1', usage: { input_tokens: 10, output_tokens: 1 } } }, session_id: 's-1' });
    const delta = JSON.stringify({ type: 'stream_event', event: { type: 'message_delta', usage: { output_tokens: 42 } }, session_id: 's-1' });
    const { facts } = feed('claude-stream-json', [init, start, assistant('m1', 1), delta]);
    // The assistant line's snapshot came between; the delta is the later word.
    expect(facts.usage.outputTokens).toBe(42);
    // And a snapshot repeated after the delta does not undo it.
    expect(feed('claude-stream-json', [init, start, delta, assistant('m1', 1)]).facts.usage.outputTokens).toBe(42);
  });

  it('adds this run\'s model costs when the result breaks them down, else takes total_cost_usd', () => {
    const withBreakdown = JSON.stringify({ type: 'result', subtype: 'success', is_error: false, result: 'ok', session_id: 's-1', total_cost_usd: 9, usage: { input_tokens: 1, output_tokens: 1 }, model_usage_since_last_result: { a: { costUSD: 0.25 }, b: { costUSD: 0.5 } } });
    expect(feed('claude-stream-json', [init, withBreakdown]).facts.usage.costUsd).toBeCloseTo(0.75, 10);
    const without = JSON.stringify({ type: 'result', subtype: 'success', is_error: false, result: 'ok', session_id: 's-1', total_cost_usd: 0.125, usage: { input_tokens: 1, output_tokens: 1 } });
    expect(feed('claude-stream-json', [init, without]).facts.usage.costUsd).toBe(0.125);
  });

  it('reads a result without usage from the messages it saw', () => {
    const result = JSON.stringify({ type: 'result', subtype: 'success', is_error: false, result: 'ok', session_id: 's-1' });
    const { facts } = feed('claude-stream-json', [init, assistant('m1', 7), result]);
    expect(facts.usage).toEqual({ inputTokens: 10, outputTokens: 7, cacheReadTokens: 1, cacheWriteTokens: 2, costUsd: null });
  });

  it('reads a subscription limit\'s reset time from the result text', () => {
    const epoch = 1_800_000_000;
    const result = JSON.stringify({ type: 'result', subtype: 'success', is_error: true, result: `Claude AI usage limit reached|${epoch}`, session_id: 's-1' });
    const { facts } = feed('claude-stream-json', [init, result], 1_799_999_000_000);
    expect(facts.rateLimit).toMatchObject({ retryAfterMs: null, resetAt: epoch * 1000 });
    expect(classifyAgentOutcome(facts, fail)).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: epoch * 1000 - 1_799_999_000_001 });
  });

  it('reads a billing error as a limit only when its text says it resets', () => {
    const synthetic = (text: string) => JSON.stringify({ type: 'assistant', message: { id: 'x', model: '<synthetic>', content: [{ type: 'text', text }] }, error: 'billing_error', is_api_error_message: true, session_id: 's-1' });
    expect(feed('claude-stream-json', [init, synthetic('spend limit reached · resets Aug 8')]).facts.rateLimit).not.toBeNull();
    const broke = feed('claude-stream-json', [init, synthetic('Credit balance is too low to access the Anthropic API.')]).facts;
    expect(broke.rateLimit).toBeNull();
    expect(broke.apiError?.message).toBe('Claude Code: Credit balance is too low to access the Anthropic API.');
  });

  it('reads other API errors as such', () => {
    const retry = JSON.stringify({ type: 'system', subtype: 'api_retry', attempt: 1, max_retries: 1, retry_delay_ms: 500, error_status: 529, error: 'overloaded', session_id: 's-1' });
    const result = JSON.stringify({ type: 'result', subtype: 'success', is_error: true, api_error_status: 529, result: 'API Error: 529 overloaded_error. This is a server-side issue', session_id: 's-1' });
    const { facts } = feed('claude-stream-json', [init, retry, result]);
    expect(facts.apiError).toEqual({ status: 529, message: 'Claude Code: API Error: 529 overloaded_error. This is a server-side issue' });
    expect(classifyAgentOutcome(facts, fail)).toMatchObject({ code: 'AGENT_FAILED' });
  });

  it('reads a refused login printed as plain text (stderr on a PTY)', () => {
    const { facts } = feed('claude-stream-json', ['Invalid API key · Please run /login']);
    expect(facts.auth?.message).toContain('Invalid API key');
    expect(facts.events).toBe(0);
  });

  it('recovers a JSON line glued to an escape, and skips a cut one', () => {
    const { facts } = feed('claude-stream-json', [`\u001b[?25l${init}\r`, '{"type":"assistant","message":{"id":"m1","usage":{"input_tok']);
    expect(facts.sessionId).toBe('s-1');
    expect(facts.usage.inputTokens).toBe(0);
  });
});
