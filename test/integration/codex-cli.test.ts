/**
 * The real Codex CLI (the pinned dev dependency's native binary), run directly against the
 * local Responses API emulator through a provider of its config, in a temporary git
 * repository with a scratch HOME and CODEX_HOME: no network, no key, no cost.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { classifyAgentOutcome } from '../../src/agents/classify.js';
import { createParser } from '../../src/agents/parsers/index.js';
import type { AgentFacts } from '../../src/agents/types.js';
import { CODEX_TEST_MODEL, codexProviderArgs, createResponsesEmulator } from '../fixtures/responses-emulator.js';
import type { Emulator, Turn } from '../fixtures/scripted-server.js';
import { makeAgentPlace, runAgent, runAgentInPty, type AgentPlace, type AgentRun } from '../helpers/agent-run.js';
import { codexBinary } from '../helpers/codex-cli.js';

const USAGE = { inputTokens: 1200, outputTokens: 80, cacheReadTokens: 300 };
const COMMIT = "printf 'hello\\n' > hello.txt && git add hello.txt && git commit -q -m 'Add hello.txt'";

let api: Emulator | null = null;
let place: AgentPlace | null = null;
afterEach(async () => {
  await api?.close();
  place?.cleanup();
  api = null;
  place = null;
});

async function codex(script: Turn[], args: string[], options: { env?: Record<string, string>; pty?: boolean } = {}): Promise<{ run: AgentRun; facts: AgentFacts }> {
  api = await createResponsesEmulator({ script, usage: USAGE });
  place = makeAgentPlace();
  const codexHome = path.join(place.home, '.codex');
  mkdirSync(codexHome);
  const argv = ['exec', '--json', '-m', CODEX_TEST_MODEL, ...codexProviderArgs(api.url, { maxRetries: 0 }), ...args];
  const run = await (options.pty ? runAgentInPty : runAgent)(codexBinary(), argv, place, { env: { CODEX_HOME: codexHome, EMULATOR_API_KEY: 'sk-emulated', ...options.env } });
  const parser = createParser('codex-json');
  for (const line of run.lines) parser.push(line, Date.now());
  return { run, facts: parser.facts() };
}

describe('the real Codex CLI against the emulator', () => {
  it('runs a command that commits, and reports the thread and its tokens', async () => {
    const script: Turn[] = [{ toolUse: { name: 'exec_command', input: { cmd: COMMIT } } }, { text: 'Committed.' }];
    const { run, facts } = await codex(script, ['--dangerously-bypass-approvals-and-sandbox', 'Create hello.txt and commit it.']);
    expect(run.code).toBe(0);
    expect(place!.git('log', '--format=%s', '-1')).toBe('Add hello.txt');
    const input = JSON.stringify((api!.mainRequests()[0]!.body as { input: unknown }).input);
    expect(input).toContain('Create hello.txt and commit it.');
    expect(facts.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(facts.usage).toEqual({ inputTokens: 2400, outputTokens: 160, cacheReadTokens: 600, cacheWriteTokens: 0, costUsd: null });
    expect(facts.result).toMatchObject({ isError: false, text: 'Committed.' });
    expect(classifyAgentOutcome(facts, run)).toEqual({ ok: true });
  });

  it('behaves the same in a PTY: the same events, lines ending in \\r', async () => {
    const { run, facts } = await codex([{ text: 'Hello.' }], ['Say hello.'], { pty: true });
    expect(run.code).toBe(0);
    // With a TTY on stdin it does not read a prompt from it (no "Reading additional input" line).
    expect(run.lines.every((l) => l.startsWith('{') && l.endsWith('\r'))).toBe(true);
    expect(facts.events).toBe(4);
    expect(facts.result?.text).toBe('Hello.');
    expect(classifyAgentOutcome(facts, run)).toEqual({ ok: true });
  });

  it('gives up on a 429 with a rate limit', async () => {
    const { run, facts } = await codex([{ status: 429, retryAfterS: 1, repeat: Infinity }], ['Say hello.']);
    expect(run.code).toBe(1);
    expect(classifyAgentOutcome(facts, run)).toMatchObject({ ok: false, code: 'RATE_LIMITED' });
  });

  it('gives up on a usage limit with its reset time', async () => {
    const resetsAt = Math.floor(Date.now() / 1000) + 7_200;
    const body = { error: { type: 'usage_limit_reached', message: 'The usage limit has been reached', plan_type: 'pro', resets_at: resetsAt } };
    const { run, facts } = await codex([{ status: 429, body, repeat: Infinity }], ['Say hello.']);
    expect(run.code).toBe(1);
    // Codex prints the reset as a local time of day, to the minute.
    expect(Math.abs(facts.rateLimit!.resetAt! - resetsAt * 1000)).toBeLessThan(60_000);
    expect(classifyAgentOutcome(facts, run, { now: Date.now() })).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: expect.any(Number) });
  });

  it('gives up on a 401 with a refused login', async () => {
    const { run, facts } = await codex([{ status: 401, repeat: Infinity }], ['Say hello.']);
    expect(run.code).toBe(1);
    expect(classifyAgentOutcome(facts, run)).toMatchObject({ ok: false, code: 'AGENT_AUTH', message: expect.stringMatching(/^Codex's API key was refused/) });
  });
});
