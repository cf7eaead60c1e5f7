/**
 * The real Claude Code CLI (the pinned dev dependency's native binary), run directly against
 * the local Messages API emulator in a temporary git repository with a scratch HOME: no
 * network, no key, no cost. Its output goes through coord's parser and classifier.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { classifyAgentOutcome } from '../../src/agents/classify.js';
import { createParser } from '../../src/agents/parsers/index.js';
import type { AgentFacts } from '../../src/agents/types.js';
import { createAnthropicEmulator, lastUserText, type Emulator, type Turn } from '../fixtures/anthropic-emulator.js';
import { makeAgentPlace, runAgent, runAgentInPty, type AgentPlace, type AgentRun } from '../helpers/agent-run.js';
import { claudeBinary } from '../helpers/claude-cli.js';

const USAGE = { inputTokens: 1200, outputTokens: 80, cacheReadTokens: 300, cacheWriteTokens: 50 };
const STREAM_JSON = ['--output-format', 'stream-json', '--verbose'];
const COMMIT = "printf 'hello\\n' > hello.txt && git add hello.txt && git commit -q -m 'Add hello.txt'";

let api: Emulator | null = null;
let place: AgentPlace | null = null;
afterEach(async () => {
  await api?.close();
  place?.cleanup();
  api = null;
  place = null;
});

async function claude(script: Turn[], args: string[], options: { env?: Record<string, string>; pty?: boolean; reuse?: AgentPlace } = {}): Promise<{ run: AgentRun; facts: AgentFacts }> {
  api = await createAnthropicEmulator({ script, usage: USAGE });
  place = options.reuse ?? makeAgentPlace();
  const env = {
    ANTHROPIC_BASE_URL: api.url, ANTHROPIC_API_KEY: 'sk-ant-emulated', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    // A 429 or a 401 is retried 10 times (about 3 minutes) unless bounded.
    CLAUDE_CODE_MAX_RETRIES: '1', ...options.env,
  };
  const run = await (options.pty ? runAgentInPty : runAgent)(claudeBinary(), args, place, { env });
  const parser = createParser('claude-stream-json');
  for (const line of run.lines) parser.push(line, Date.now());
  return { run, facts: parser.facts() };
}

const commitScript: Turn[] = [
  { text: "I'll create hello.txt and commit it.", toolUse: { name: 'Bash', input: { command: COMMIT, description: 'Create and commit hello.txt' } } },
  { text: 'Created hello.txt and committed it.' },
];

function resultLine(run: AgentRun): Record<string, unknown> {
  const line = run.lines.map((l) => l.replace(/\r$/, '')).find((l) => l.startsWith('{"type":"result"') || l.includes('"type":"result"'));
  return JSON.parse(line!) as Record<string, unknown>;
}

describe('the real Claude Code CLI against the emulator', () => {
  it('runs a Bash tool call that commits, and reports session, tokens and cost', async () => {
    const { run, facts } = await claude(commitScript, ['-p', 'Create hello.txt and commit it.', ...STREAM_JSON, '--allowedTools', 'Bash']);
    expect(run.code).toBe(0);
    expect(place!.git('log', '--format=%s', '-1')).toBe('Add hello.txt');
    expect(place!.git('show', 'HEAD:hello.txt')).toBe('hello');
    // The prompt reached the API, and the tool's output went back to it.
    const [first, second] = api!.mainRequests();
    expect(lastUserText(first!.body)).toContain('Create hello.txt and commit it.');
    expect(second).toBeDefined();
    expect(api!.requests.every((r) => r.kind === 'main')).toBe(true);

    expect(facts.sessionId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(first!.headers['x-claude-code-session-id']).toBe(facts.sessionId);
    expect(facts.usage).toMatchObject({ inputTokens: 2400, outputTokens: 160, cacheReadTokens: 600, cacheWriteTokens: 100 });
    expect(facts.usage.costUsd).toBeGreaterThan(0);
    expect(facts.usage.costUsd).toBe(resultLine(run).total_cost_usd);
    expect(facts.result).toMatchObject({ isError: false, subtype: 'success', text: 'Created hello.txt and committed it.' });
    expect(classifyAgentOutcome(facts, run)).toEqual({ ok: true });
  });

  it('behaves the same in a PTY (as coord runs it): the same facts, lines ending in \\r', async () => {
    const { run, facts } = await claude(commitScript, ['-p', 'Create hello.txt and commit it.', ...STREAM_JSON, '--allowedTools', 'Bash'], { pty: true });
    expect(run.code).toBe(0);
    expect(run.lines.filter((l) => l.startsWith('{')).every((l) => l.endsWith('\r'))).toBe(true);
    expect(place!.git('log', '--format=%s', '-1')).toBe('Add hello.txt');
    expect(facts.usage).toMatchObject({ inputTokens: 2400, outputTokens: 160, cacheReadTokens: 600, cacheWriteTokens: 100 });
    expect(facts.events).toBe(6);
    expect(classifyAgentOutcome(facts, run)).toEqual({ ok: true });
  });

  it('gives up on a 429 with a rate limit and the wait retry-after asked for', async () => {
    const { run, facts } = await claude([{ status: 429, retryAfterS: 1, repeat: Infinity }], ['-p', 'Say hello.', ...STREAM_JSON]);
    expect(run.code).toBe(1);
    expect(api!.mainRequests()).toHaveLength(2);
    expect(facts.result).toMatchObject({ isError: true, subtype: 'success' });
    expect(resultLine(run)).toMatchObject({ is_error: true, subtype: 'success', api_error_status: 429 });
    expect(facts.rateLimit?.retryAfterMs).toBeGreaterThanOrEqual(1_000);
    const outcome = classifyAgentOutcome(facts, run);
    expect(outcome).toMatchObject({ ok: false, code: 'RATE_LIMITED', retryAfterMs: facts.rateLimit!.retryAfterMs });
  });

  it('gives up on a 401 with a refused login that names ANTHROPIC_API_KEY', async () => {
    const { run, facts } = await claude([{ status: 401, repeat: Infinity }], ['-p', 'Say hello.', ...STREAM_JSON]);
    expect(run.code).toBe(1);
    expect(resultLine(run)).toMatchObject({ is_error: true, api_error_status: 401 });
    const outcome = classifyAgentOutcome(facts, run);
    expect(outcome).toMatchObject({ ok: false, code: 'AGENT_AUTH' });
    expect(!outcome.ok && outcome.message).toMatch(/^ANTHROPIC_API_KEY was refused \(401\): Invalid API key.*claude \/login/);
  });

  it('says which login is missing when there is none', async () => {
    const { run, facts } = await claude([], ['-p', 'Say hello.', ...STREAM_JSON], { env: { ANTHROPIC_API_KEY: '' } });
    expect(run.code).toBe(1);
    expect(api!.requests).toHaveLength(0);
    expect(classifyAgentOutcome(facts, run)).toMatchObject({ code: 'AGENT_AUTH', message: expect.stringMatching(/^Claude Code is not logged in/) });
  });

  it('resumes a session under the same id, from the transcript under HOME', async () => {
    const first = await claude([{ text: 'Hello.' }], ['-p', 'Say hello.', ...STREAM_JSON]);
    const id = first.facts.sessionId!;
    const slug = place!.repo.replace(/[^a-zA-Z0-9]/g, '-');
    expect(existsSync(path.join(place!.home, '.claude', 'projects', slug, `${id}.jsonl`))).toBe(true);
    await api!.close();
    const kept = place!;
    place = null;
    const second = await claude([{ text: 'I said hello.' }], ['-p', 'What did you say?', '--resume', id, ...STREAM_JSON], { reuse: kept });
    expect(second.run.code).toBe(0);
    expect(second.facts.sessionId).toBe(id);
    expect(second.facts.result?.text).toBe('I said hello.');
    // The resumed conversation went back to the API whole.
    const messages = (api!.mainRequests()[0]!.body as { messages: { role: string }[] }).messages.map((m) => m.role);
    expect(messages.filter((r) => r === 'assistant')).toHaveLength(1);
    // This run's cost, though the result's total_cost_usd is the session's.
    expect(second.facts.usage.costUsd).toBeCloseTo(first.facts.usage.costUsd!, 10);
    expect(resultLine(second.run).total_cost_usd as number).toBeCloseTo(2 * first.facts.usage.costUsd!, 10);
  });
});
