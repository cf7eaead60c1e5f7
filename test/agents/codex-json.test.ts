import { describe, expect, it } from 'vitest';
import { classifyAgentOutcome } from '../../src/agents/classify.js';
import { feed, firstValue, recording } from './recordings.js';

const fail = { code: 1, signal: null };
const zero = { code: 0, signal: null };

describe('the codex-json parser, on the real CLI\'s recordings', () => {
  it('reads a text answer: the thread id is the session, input tokens exclude the cached ones', () => {
    const { facts, changed } = feed('codex-json', recording('codex-text.jsonl'));
    expect(facts.sessionId).toBe(firstValue('codex-text.jsonl', 'thread_id'));
    expect(facts.usage).toEqual({ inputTokens: 1200, outputTokens: 80, cacheReadTokens: 300, cacheWriteTokens: 0, costUsd: null });
    expect(facts.result).toEqual({ isError: false, subtype: 'turn.completed', text: 'Hello from the emulator.', at: 1_003 });
    expect(changed).toEqual([true, false, false, true]);
    expect(classifyAgentOutcome(facts, zero)).toEqual({ ok: true });
  });

  it('reads a command that committed, and the turn\'s totals over its two requests', () => {
    const { facts } = feed('codex-json', recording('codex-exec-commit.jsonl'));
    expect(facts.usage).toEqual({ inputTokens: 2400, outputTokens: 160, cacheReadTokens: 600, cacheWriteTokens: 0, costUsd: null });
    expect(facts.result?.text).toBe('Created hello.txt and committed it.');
  });

  it('reads a 429 it gave up on as a rate limit with no known wait', () => {
    const { facts } = feed('codex-json', recording('codex-rate-limit.jsonl'));
    expect(facts.result).toMatchObject({ isError: true, subtype: 'turn.failed' });
    expect(facts.rateLimit).toMatchObject({ retryAfterMs: null, resetAt: null, message: expect.stringContaining('429 Too Many Requests') });
    expect(classifyAgentOutcome(facts, fail)).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: null });
  });

  it('reads a usage limit and when it resets (a local time of day)', () => {
    const lines = recording('codex-usage-limit.jsonl');
    const said = /try again at (\d+):(\d+) (AM|PM)/.exec(lines.join('\n'));
    expect(said).not.toBeNull();
    // A moment two hours before the recorded reset, on a clock of this process's zone.
    const reset = new Date(2026, 11, 3, (Number(said![1]) % 12) + (said![3] === 'PM' ? 12 : 0), Number(said![2]), 0, 0).getTime();
    const { facts } = feed('codex-json', lines, reset - 7_200_000);
    expect(facts.rateLimit).toMatchObject({ retryAfterMs: null, resetAt: reset });
    expect(classifyAgentOutcome(facts, fail)).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 7_200_000 - 3 });
  });

  it('reads a refused key (401) and says which login', () => {
    const { facts } = feed('codex-json', recording('codex-auth-401.jsonl'));
    expect(facts.auth?.message).toMatch(/^Codex's API key was refused: unexpected status 401 Unauthorized: Incorrect API key provided/);
    expect(facts.auth?.message).toMatch(/Set a valid OPENAI_API_KEY \(or the provider's env_key\), or log in with `codex login`$/);
    expect(classifyAgentOutcome(facts, fail)).toMatchObject({ code: 'AGENT_AUTH' });
  });

  it('reads a missing provider key and names the variable', () => {
    const { facts } = feed('codex-json', recording('codex-missing-key.jsonl'));
    expect(facts.auth?.message).toBe("Codex's provider key EMULATOR_API_KEY is not set: set it in the profile's env, or log in with `codex login`");
  });

  it('keeps the thread id on resume (its usage is the thread\'s running total)', () => {
    const { facts } = feed('codex-json', recording('codex-resume.jsonl'));
    expect(facts.sessionId).toBe(firstValue('codex-text.jsonl', 'thread_id'));
    expect(facts.usage.inputTokens).toBe(2400);
    expect(facts.result?.text).toBe('I said hello.');
  });
});

describe('the codex-json parser, on documented events (codex-rs/exec/src/exec_events.rs)', () => {
  const started = '{"type":"thread.started","thread_id":"67e55044-10b1-426f-9247-bb680e5fe0c8"}';

  it('reads the documented turn.completed example', () => {
    const { facts } = feed('codex-json', [started, '{"type":"turn.started"}', '{"type":"turn.completed","usage":{"input_tokens":1200,"cached_input_tokens":200,"output_tokens":345}}']);
    expect(facts.usage).toEqual({ inputTokens: 1000, outputTokens: 345, cacheReadTokens: 200, cacheWriteTokens: 0, costUsd: null });
    expect(facts.result?.text).toBeNull();
  });

  it('takes the latest totals, never adding turns (they are running totals)', () => {
    const turn = (n: number) => `{"type":"turn.completed","usage":{"input_tokens":${n},"cached_input_tokens":0,"output_tokens":1}}`;
    expect(feed('codex-json', [started, turn(100), turn(250)]).facts.usage.inputTokens).toBe(250);
  });

  it('reads a question the model asked as needing input', () => {
    const ask = JSON.stringify({ type: 'request_user_input', id: 't1', call_id: 'c1', questions: [{ id: 'db', header: 'Database', question: 'Which database should I use?', options: [] }] });
    const { facts } = feed('codex-json', [started, ask]);
    expect(facts.needsInput?.message).toBe('Codex asked: Which database should I use?; an exec run cannot answer it');
    expect(classifyAgentOutcome(facts, { code: null, signal: 'SIGTERM' })).toMatchObject({ code: 'AGENT_NEEDS_INPUT' });
  });

  it('reads a declined command as needing input', () => {
    const declined = JSON.stringify({ type: 'item.completed', item: { id: 'item_1', type: 'command_execution', command: 'rm -rf build', aggregated_output: '', exit_code: null, status: 'declined' } });
    expect(feed('codex-json', [started, declined]).facts.needsInput?.message).toContain('rm -rf build');
  });

  it('takes the last completed agent message as the result text, not a started or updated one', () => {
    const message = (type: string, text: string) => JSON.stringify({ type, item: { id: 'item_0', type: 'agent_message', text } });
    const { facts } = feed('codex-json', [started, message('item.completed', 'first'), message('item.updated', 'draft'), message('item.completed', 'final'), '{"type":"turn.completed","usage":{}}']);
    expect(facts.result?.text).toBe('final');
  });

  it('reads another failure as an API error with its status', () => {
    const lines = [started, '{"type":"error","message":"unexpected status 404 Not Found: not found, url: http://127.0.0.1:1/v1/responses"}', '{"type":"turn.failed","error":{"message":"unexpected status 404 Not Found"}}'];
    const { facts } = feed('codex-json', lines);
    expect(facts.apiError?.status).toBe(404);
    expect(classifyAgentOutcome(facts, fail)).toMatchObject({ code: 'AGENT_FAILED', message: expect.stringContaining('404') });
  });

  it('does not take a non-fatal error item (unknown model metadata) for a failure', () => {
    const notice = '{"type":"item.completed","item":{"id":"item_0","type":"error","message":"Model metadata for `test-model` not found. Defaulting to fallback metadata; this can degrade performance and cause issues."}}';
    const { facts } = feed('codex-json', [started, notice, '{"type":"turn.completed","usage":{"input_tokens":1,"output_tokens":1}}']);
    expect(facts.apiError).toBeNull();
    expect(classifyAgentOutcome(facts, zero)).toEqual({ ok: true });
  });

  it('reads a rate limit retried past as ok once the turn completes', () => {
    const lines = [started, '{"type":"error","message":"Reconnecting... 1/5 (exceeded retry limit, last status: 429 Too Many Requests)"}', '{"type":"turn.completed","usage":{"input_tokens":1,"output_tokens":1}}'];
    const { facts } = feed('codex-json', lines);
    expect(facts.rateLimit).not.toBeNull();
    expect(classifyAgentOutcome(facts, zero)).toEqual({ ok: true });
  });

  it('skips the stderr lines a PTY mixes in', () => {
    const lines = ['WARNING: proceeding, even though we could not create PATH aliases\r', 'Reading additional input from stdin...\r', `${started}\r`];
    const { facts } = feed('codex-json', lines);
    expect(facts.events).toBe(1);
    expect(facts.auth).toBeNull();
    expect(facts.sessionId).toBe('67e55044-10b1-426f-9247-bb680e5fe0c8');
  });
});
