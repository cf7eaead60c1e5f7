/**
 * Gemini CLI cannot be run here (it needs Google's API), so these lines are the documented
 * examples of its stream-json formatter's tests (packages/core/src/output/) and the error
 * texts its source prints.
 */
import { describe, expect, it } from 'vitest';
import { classifyAgentOutcome } from '../../src/agents/classify.js';
import { feed } from './recordings.js';

const T = '2025-10-10T12:00:00.000Z';
const init = `{"type":"init","timestamp":"${T}","session_id":"test-session-123","model":"gemini-2.0-flash-exp"}`;
const user = `{"type":"message","timestamp":"${T}","role":"user","content":"What is 2+2?"}`;
const delta = (text: string) => `{"type":"message","timestamp":"${T}","role":"assistant","content":"${text}","delta":true}`;
const toolUse = `{"type":"tool_use","timestamp":"${T}","tool_name":"Read","tool_id":"read-123","parameters":{"file_path":"/path/to/file.txt"}}`;
const toolResult = `{"type":"tool_result","timestamp":"${T}","tool_id":"read-123","status":"success","output":"File contents here"}`;
const success = `{"type":"result","timestamp":"${T}","status":"success","stats":{"total_tokens":80,"input_tokens":50,"output_tokens":30,"cached":30,"input":20,"duration_ms":1200,"tool_calls":2}}`;
const errorResult = (type: string, message: string) => JSON.stringify({ type: 'result', timestamp: T, status: 'error', error: { type, message }, stats: { total_tokens: 0, input_tokens: 0, output_tokens: 0, cached: 0, input: 0, duration_ms: 0, tool_calls: 0 } });

describe('the gemini-stream-json parser', () => {
  it('reads a session: init, assistant deltas, tools, a successful result with stats', () => {
    const { facts } = feed('gemini-stream-json', [init, user, delta('The answer'), delta(' is 4.'), toolUse, toolResult, success]);
    expect(facts.sessionId).toBe('test-session-123');
    expect(facts.model).toBe('gemini-2.0-flash-exp');
    expect(facts.result).toEqual({ isError: false, subtype: 'success', text: 'The answer is 4.', at: 1_006 });
    // input_tokens (50) includes the cached ones (30); `input` is the rest.
    expect(facts.usage).toEqual({ inputTokens: 20, outputTokens: 30, cacheReadTokens: 30, cacheWriteTokens: 0, costUsd: null });
    expect(facts.events).toBe(7);
    expect(classifyAgentOutcome(facts, { code: 0, signal: null })).toEqual({ ok: true });
  });

  it('derives the uncached input when `input` is missing', () => {
    const old = `{"type":"result","timestamp":"${T}","status":"success","stats":{"input_tokens":50,"output_tokens":30,"cached":10}}`;
    expect(feed('gemini-stream-json', [init, old]).facts.usage).toMatchObject({ inputTokens: 40, cacheReadTokens: 10 });
  });

  it('reads an error result (max turns) as a failed result', () => {
    const { facts } = feed('gemini-stream-json', [init, errorResult('MaxSessionTurnsError', 'Maximum session turns exceeded')]);
    expect(facts.result).toMatchObject({ isError: true, subtype: 'MaxSessionTurnsError', text: 'Maximum session turns exceeded' });
    expect(classifyAgentOutcome(facts, { code: 53, signal: null })).toMatchObject({ code: 'AGENT_FAILED', message: expect.stringContaining('Maximum session turns') });
  });

  it('reads a quota error, and its wait, as a rate limit', () => {
    const message = '[API Error: You have exhausted your capacity on this model. Your quota will reset after 1h49m8s. (Status: RESOURCE_EXHAUSTED)]';
    const { facts } = feed('gemini-stream-json', [init, errorResult('TerminalQuotaError', message)]);
    expect(facts.rateLimit).toMatchObject({ retryAfterMs: (3600 + 49 * 60 + 8) * 1000, resetAt: null });
    expect(classifyAgentOutcome(facts, { code: 1, signal: null })).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 6_548_000 });
  });

  it('reads a missing auth method (a fatal error before any event) as a login problem', () => {
    const { facts } = feed('gemini-stream-json', [errorResult('FatalAuthenticationError', 'Please set an Auth method in your /home/u/.gemini/settings.json or specify one of the following environment variables before running: GEMINI_API_KEY, GOOGLE_GENAI_USE_VERTEXAI, GOOGLE_GENAI_USE_GCA')]);
    expect(facts.auth?.message).toMatch(/^Gemini CLI's login is missing or was refused: Please set an Auth method.*Log in with `gemini` \(Login with Google\) or set GEMINI_API_KEY$/);
    expect(classifyAgentOutcome(facts, { code: 41, signal: null })).toMatchObject({ code: 'AGENT_AUTH' });
  });

  it('reads an invalid key', () => {
    const message = '[API Error: API key not valid. Please pass a valid API key. (Status: INVALID_ARGUMENT)]';
    expect(feed('gemini-stream-json', [init, errorResult('Error', message)]).facts.auth).not.toBeNull();
  });

  it('reads warning events without failing the run, and fatal ones as API errors', () => {
    const warning = `{"type":"error","timestamp":"${T}","severity":"warning","message":"Loop detected, stopping execution"}`;
    const warned = feed('gemini-stream-json', [init, warning, success]).facts;
    expect(warned.apiError).toBeNull();
    expect(classifyAgentOutcome(warned, { code: 0, signal: null })).toEqual({ ok: true });
    const fatal = `{"type":"error","timestamp":"${T}","severity":"error","message":"[API Error: Internal error (Status: 500)]"}`;
    expect(feed('gemini-stream-json', [init, fatal]).facts.apiError).toEqual({ status: 500, message: 'Gemini CLI: [API Error: Internal error (Status: 500)]' });
  });

  it('reads a rate limit printed on stderr before the stream', () => {
    const { facts } = feed('gemini-stream-json', ['Attempt 1 failed with status 429. Retrying with backoff... ApiError: {"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED"}}', init]);
    expect(facts.rateLimit).not.toBeNull();
    expect(facts.events).toBe(1);
  });
});
