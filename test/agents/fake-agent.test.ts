/**
 * The fake agent's Claude Code modes, read by the same parser as the real CLI's recordings,
 * and shaped like them: what the real CLI cannot be made to do on demand (hang after its
 * result, wait at a prompt) is tested with it.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { spawn as spawnPty } from 'node-pty';
import { classifyAgentOutcome } from '../../src/agents/classify.js';
import { createParser } from '../../src/agents/parsers/index.js';
import { FAKE_AGENT } from '../helpers/cli.js';
import { feed, recording } from './recordings.js';

interface Run {
  code: number | null;
  signal: string | null;
  lines: string[];
  stderr: string;
}

function runFake(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [FAKE_AGENT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('close', (code, signal) => resolve({ code, signal, lines: out.split('\n').filter((l) => l !== ''), stderr: err }));
  });
}

type Json = Record<string, unknown>;
const parsed = (lines: string[]): Json[] => lines.map((l) => JSON.parse(l) as Json);
const shape = (event: Json) => `${String(event.type)}${event.subtype === undefined ? '' : `/${String(event.subtype)}`}`;

/** The keys the real CLI's line of the same shape has that the fake's lacks (only those a parser may read). */
function missingKeys(fake: Json, real: Json): string[] {
  const read = ['type', 'subtype', 'session_id', 'model', 'apiKeySource', 'message', 'is_error', 'result', 'usage', 'total_cost_usd',
    'model_usage_since_last_result', 'api_error_status', 'permission_denials', 'error', 'is_api_error_message', 'tool_name', 'tool_use_id'];
  return read.filter((key) => key in real && !(key in fake));
}

describe('the fake agent in --stream-json mode', () => {
  it('prints only JSON lines shaped like the real CLI\'s, with its chatter on stderr', async () => {
    const run = await runFake(['--stream-json', '--session-id', '11111111-2222-4333-8444-555555555555', '--result', 'All done.']);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('[fake-agent] thinking about the task...');
    const fake = parsed(run.lines);
    const real = parsed(recording('claude-text.jsonl'));
    expect(fake.map(shape)).toEqual(real.map(shape));
    fake.forEach((event, i) => expect(missingKeys(event, real[i]!)).toEqual([]));
    const { facts } = feed('claude-stream-json', run.lines);
    expect(facts).toMatchObject({
      sessionId: '11111111-2222-4333-8444-555555555555',
      usage: { inputTokens: 1200, outputTokens: 80, cacheReadTokens: 300, cacheWriteTokens: 50, costUsd: 0.00671 },
      result: { isError: false, subtype: 'success', text: 'All done.' },
    });
  });

  it('keeps a resumed session\'s id and reports the usage and cost it is told', async () => {
    const run = await runFake(['-p', 'go on', '--output-format', 'stream-json', '--verbose', '--resume', 'abc-123', '--usage', '10,20,30,40', '--cost', '0.5']);
    const { facts } = feed('claude-stream-json', run.lines);
    expect(facts.sessionId).toBe('abc-123');
    expect(facts.usage).toEqual({ inputTokens: 10, outputTokens: 20, cacheReadTokens: 30, cacheWriteTokens: 40, costUsd: 0.5 });
  });

  it.each([
    [429, 'claude-rate-limit-no-retry.jsonl', 'RATE_LIMITED'],
    [401, 'claude-auth-401.jsonl', 'AGENT_AUTH'],
  ] as const)('ends on an API error %i as the real CLI does', async (status, file, code) => {
    const run = await runFake(['--stream-json', '--api-error', String(status)]);
    expect(run.code).toBe(1);
    const real = parsed(recording(file)).filter((e) => e.subtype !== 'api_retry');
    const fake = parsed(run.lines);
    expect(fake.map(shape)).toEqual(real.map(shape));
    fake.forEach((event, i) => expect(missingKeys(event, real[i]!)).toEqual([]));
    expect(fake.at(-1)).toMatchObject({ is_error: true, subtype: 'success', api_error_status: status, result: real.at(-1)!.result });
    expect(classifyAgentOutcome(feed('claude-stream-json', run.lines).facts, run)).toMatchObject({ code });
  });

  it('with --needs-input, prints a refused tool call as the real -p CLI does', async () => {
    const run = await runFake(['--stream-json', '--needs-input']);
    expect(run.code).toBe(0);
    const real = parsed(recording('claude-permission-denied.jsonl'));
    expect(parsed(run.lines).map(shape)).toEqual(real.map(shape));
    const { facts } = feed('claude-stream-json', run.lines);
    expect(facts.needsInput?.message).toContain('Bash (touch needs-approval.txt)');
    expect(classifyAgentOutcome(facts, run)).toMatchObject({ code: 'AGENT_NEEDS_INPUT' });
  });

  it('with --hang-after-result, stays alive after its result; killed then, the attempt is ok', async () => {
    const child = spawn(process.execPath, [FAKE_AGENT, '--stream-json', '--hang-after-result'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const parser = createParser('claude-stream-json');
    let buffered = '';
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        let newline = buffered.indexOf('\n');
        while (newline !== -1) {
          parser.push(buffered.slice(0, newline), Date.now());
          buffered = buffered.slice(newline + 1);
          newline = buffered.indexOf('\n');
        }
        if (parser.facts().result !== null) resolve();
      });
    });
    expect(child.exitCode).toBeNull();
    const exit = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    child.kill('SIGTERM');
    const ended = await exit;
    expect(ended).toEqual({ code: null, signal: 'SIGTERM' });
    expect(classifyAgentOutcome(parser.facts(), ended)).toEqual({ ok: true });
  });
});

describe('the fake agent\'s --needs-input prompt, in a PTY', () => {
  it('waits at an open prompt the text parser reads, and goes on once answered', async () => {
    const pty = spawnPty(process.execPath, [FAKE_AGENT, '--needs-input', '--print', 'went on'], { cols: 200, rows: 24, env: { ...process.env, TERM: 'xterm' } as Record<string, string> });
    const parser = createParser('text');
    let output = '';
    const exited = new Promise<number>((resolve) => pty.onExit(({ exitCode }) => resolve(exitCode)));
    await new Promise<void>((resolve) => {
      pty.onData((data) => {
        output += data;
        if (output.includes('[Yes]: ')) resolve();
      });
    });
    // The prompt has no newline after it: it is the pending partial line, fed as it stands.
    const pending = output.slice(output.lastIndexOf('\n') + 1);
    parser.push(pending, 1);
    expect(parser.facts().needsInput?.message).toContain('(Y)es/(N)o [Yes]:');
    pty.write('y\r');
    expect(await exited).toBe(0);
    expect(output).toContain('[fake-agent] answered: y');
    expect(output).toContain('went on');
  });
});
