/**
 * Agent tasks through coord, end to end: the real Claude Code CLI in a real worktree, forked
 * worker, PTY, talking to the local Messages API emulator (no network, no key). Its commit
 * lands on the task's branch; the summary holds its session, tokens and cost; a rate limit is
 * waited out without burning an attempt; a refused login is not retried; a prompt is cleaned
 * of control characters before the agent sees it, and an oversized one is refused whole. The
 * shipped fake agent covers what the real CLI cannot be made to do on demand: a result
 * followed by a hang (the watchdog ends it, the result counts).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSupervisor, type Supervisor } from '../../src/index.js';
import { createAnthropicEmulator, lastUserText, type Emulator, type Turn } from '../fixtures/anthropic-emulator.js';
import { claudeBinary } from '../helpers/claude-cli.js';
import { FAKE_AGENT } from '../helpers/cli.js';
import { makeRepo, type TempRepo } from '../helpers/git-repo.js';

let repo: TempRepo;
let api: Emulator | undefined;
let supervisor: Supervisor | undefined;
afterEach(async () => {
  if (supervisor && !['stopped', 'failed'].includes(supervisor.status().state)) await supervisor.stop();
  supervisor = undefined;
  await api?.close();
  api = undefined;
  repo?.cleanup();
});

/** A supervisor whose `claude` profile is the real CLI pointed at an emulator playing `script`. */
async function withClaude(script: Turn[], extra: { env?: Record<string, string>; maxAttempts?: number } = {}): Promise<Supervisor> {
  repo = makeRepo();
  api = await createAnthropicEmulator({ script });
  const home = path.join(repo.dir, 'home');
  mkdirSync(home);
  supervisor = createSupervisor({
    repo: repo.repo, workers: 1, stateDir: repo.stateDir, worktreeRoot: repo.worktreeRoot, heartbeatMs: 200,
    maxAttempts: extra.maxAttempts ?? 3,
    agents: {
      claude: {
        command: claudeBinary(), args: ['--allowedTools', 'Bash'],
        env: { ANTHROPIC_BASE_URL: api.url, ANTHROPIC_API_KEY: 'sk-ant-emulated', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1', HOME: home, TMPDIR: repo.dir, ...extra.env },
      },
    },
  });
  await supervisor.start();
  return supervisor;
}

const taskOf = async (s: Supervisor, id: string) => (await s.summary({ ids: [id] })).tasks[0];

describe('agent: claude, the real CLI', () => {
  it('runs the agent in the worktree: its commit on coord/<id>, its session, tokens and cost in the summary', async () => {
    const s = await withClaude([
      { toolUse: { name: 'Bash', input: { command: 'echo hi > hi.txt && git add hi.txt && git commit -qm "Add hi"', description: 'Commit hi.txt' } } },
      { text: 'Committed hi.txt.' },
    ]);
    const usage: number[] = [];
    s.events.on('coord:usage', (u) => usage.push(u.inputTokens + u.outputTokens));
    await s.submit([{ id: 'fix', agent: 'claude', prompt: 'Create hi.txt and commit it.' }]);
    await s.settled();
    const task = await taskOf(s, 'fix');
    expect(task).toMatchObject({ status: 'complete', attempts: 1, result: 'Committed hi.txt.' });
    expect(repo.git('log', '--format=%s', '-1', 'coord/fix')).toBe('Add hi');
    expect(task?.session).toEqual({ agent: 'claude', id: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(task?.usage?.inputTokens).toBeGreaterThan(0);
    expect(task?.usage?.outputTokens).toBeGreaterThan(0);
    expect(task?.usage?.costUsd).toBeGreaterThan(0);
    expect(task?.history[0]?.session).toEqual(task?.session);
    expect(usage.length).toBeGreaterThan(0); // reported while it ran, not only at the end
    // The session the CLI reported is the one it sent with its requests.
    expect(JSON.stringify(api?.requests.at(-1)?.headers ?? {})).toContain(task?.session?.id ?? 'none');
    await s.drain();
  });

  it('waits out a 429 without burning an attempt, then completes', async () => {
    const s = await withClaude([{ status: 429, retryAfterS: 1, repeat: 2 }, { text: 'Hello after the limit.' }], { env: { CLAUDE_CODE_MAX_RETRIES: '1' }, maxAttempts: 1 });
    const limited: Array<{ retryAt: string | null }> = [];
    s.events.on('coord:rate-limited', (e) => limited.push(e));
    await s.submit([{ id: 'hello', agent: 'claude', prompt: 'Say hello.' }]);
    await s.settled();
    const task = await taskOf(s, 'hello');
    // maxAttempts 1: had the 429 burnt the attempt, the task would be dead.
    expect(task).toMatchObject({ status: 'complete', attempts: 1, rateLimitWaits: 1, result: 'Hello after the limit.' });
    expect(limited).toHaveLength(1);
    expect(Date.parse(limited[0]?.retryAt ?? '')).not.toBeNaN();
    const released = task?.history.find((start) => start.released);
    expect(released?.releaseReason).toMatch(/^rate limited/);
    await s.drain();
  });

  it('does not retry a refused login: AGENT_AUTH names the key', async () => {
    const s = await withClaude([{ status: 401, repeat: Infinity }], { env: { CLAUDE_CODE_MAX_RETRIES: '1' }, maxAttempts: 3 });
    await s.submit([{ id: 'auth', agent: 'claude', prompt: 'Say hello.' }]);
    await s.settled();
    const task = await taskOf(s, 'auth');
    expect(task).toMatchObject({ status: 'dead', attempts: 1, error: { code: 'AGENT_AUTH' } });
    expect(task?.error?.message).toContain('ANTHROPIC_API_KEY');
    await s.drain();
  });

  it('hands the agent the prompt cleaned of control characters, and refuses an oversized one whole', async () => {
    const s = await withClaude([{ text: 'ok' }]);
    await expect(s.submit([
      { id: 'fine', agent: 'claude', prompt: 'hi' },
      { id: 'huge', agent: 'claude', prompt: 'x'.repeat(64 * 1024 + 1) },
    ])).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    expect((await s.summary()).tasks).toEqual([]); // nothing of the refused submission was stored
    await s.submit([{ id: 'clean', agent: 'claude', prompt: 'say \u001b[31mred\u001b[0m\u0007 now' }]);
    await s.settled();
    expect((await taskOf(s, 'clean'))?.status).toBe('complete');
    const prompt = lastUserText(api?.requests.find((r) => r.kind === 'main')?.body);
    expect(prompt).toContain('say red now');
    expect(prompt).not.toContain('\u001b');
    await s.drain();
  });
});

/** A supervisor whose profile `name` is the fake agent speaking Claude's stream-json with `flags`. */
async function withFakeAgent(name: string, flags: string[], extra: { agentResultGraceMs?: number; maxAttempts?: number } = {}): Promise<Supervisor> {
  repo = makeRepo();
  supervisor = createSupervisor({
    repo: repo.repo, workers: 1, stateDir: repo.stateDir, worktreeRoot: repo.worktreeRoot, heartbeatMs: 200, ...extra,
    agents: { [name]: { command: process.execPath, args: [FAKE_AGENT, '--stream-json', ...flags, '-p', '{prompt}'], parser: 'claude-stream-json' } },
  });
  await supervisor.start();
  return supervisor;
}

describe('agent: the shipped fake agent, for what the real CLI does not do on demand', () => {
  it('ends an agent that sent its result but does not exit, and counts the result', async () => {
    supervisor = await withFakeAgent('hangs', ['--hang-after-result'], { agentResultGraceMs: 500 });
    await supervisor.submit([{ id: 'hang', agent: 'hangs', prompt: 'finish then hang' }]);
    await supervisor.settled();
    const task = await taskOf(supervisor, 'hang');
    expect(task).toMatchObject({ status: 'complete', attempts: 1 });
    expect(task?.session?.agent).toBe('hangs');
    await supervisor.drain();
  });

  it('reports a -p run that needs input as AGENT_NEEDS_INPUT, not retried', async () => {
    supervisor = await withFakeAgent('asks', ['--needs-input'], { maxAttempts: 3 });
    await supervisor.submit([{ id: 'ask', agent: 'asks', prompt: 'do something ambiguous' }]);
    await supervisor.settled();
    expect(await taskOf(supervisor, 'ask')).toMatchObject({ status: 'dead', attempts: 1, error: { code: 'AGENT_NEEDS_INPUT' } });
    await supervisor.drain();
  });

  it('judges liveness by evidence: a silent agent that works is quiet, one silent and idle is stalled and ended', async () => {
    repo = makeRepo();
    supervisor = createSupervisor({
      repo: repo.repo, workers: 2, stateDir: repo.stateDir, worktreeRoot: repo.worktreeRoot, heartbeatMs: 200,
      quietAfterMs: 500, agentStallAfterMs: 2_500, maxAttempts: 1,
      agents: {
        // Silent and idle: a sleep.
        idle: { command: 'sleep', args: ['{prompt}'] },
        // Silent but busy: a CPU loop that ends by itself with exit 0 and no result (text parser: none expected).
        busy: { command: process.execPath, args: ['-e', 'const end = Date.now() + Number(process.argv[1]); while (Date.now() < end);', '{prompt}'] },
      },
    });
    const seen: Array<[string, string]> = [];
    supervisor.events.on('coord:liveness', (e) => seen.push([e.taskId, e.state]));
    await supervisor.start();
    await supervisor.submit([{ id: 'sleeper', agent: 'idle', prompt: '60' }, { id: 'worker', agent: 'busy', prompt: '4000' }]);
    await supervisor.settled();
    const sleeper = await taskOf(supervisor, 'sleeper');
    expect(sleeper).toMatchObject({ status: 'dead', error: { code: 'TASK_TIMEOUT', message: expect.stringContaining('stalled') } });
    expect(seen).toContainEqual(['sleeper', 'quiet']);
    expect(seen).toContainEqual(['sleeper', 'stalled']);
    // Silent for longer than the stall limit, but busy all along: quiet, never stalled.
    expect(await taskOf(supervisor, 'worker')).toMatchObject({ status: 'complete' });
    expect(seen).toContainEqual(['worker', 'quiet']);
    expect(seen).not.toContainEqual(['worker', 'stalled']);
    await supervisor.drain();
  });
});
