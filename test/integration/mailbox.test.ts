/**
 * The mailbox end to end, with real forked workers, PTYs and a real repository, and the
 * shipped fake agent as a template profile that can resume sessions: a message to a finished
 * task resumes its session and the new commit lands on its branch; the same finding three
 * turns running blocks the task until an override with a reason; a resume that keeps failing
 * respawns the agent with a thread summary, and every hop is in the task's mailbox history.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createSupervisor, type Supervisor, type SupervisorEvents } from '../../src/index.js';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { createAnthropicEmulator, lastUserText, type Emulator, type Turn } from '../fixtures/anthropic-emulator.js';
import { claudeBinary } from '../helpers/claude-cli.js';
import { FAKE_AGENT } from '../helpers/cli.js';
import { makeRepo, type TempRepo } from '../helpers/git-repo.js';

let repo: TempRepo;
let supervisor: Supervisor | undefined;
let api: Emulator | undefined;
afterEach(async () => {
  if (supervisor && !['stopped', 'failed'].includes(supervisor.status().state)) await supervisor.stop();
  supervisor = undefined;
  await api?.close();
  api = undefined;
  repo?.cleanup();
});

const taskOf = async (s: Supervisor, id: string) => (await s.summary({ ids: [id] })).tasks[0];

/** Resolves with the first `name` event `match` accepts. */
function next<K extends keyof SupervisorEvents>(s: Supervisor, name: K, match: (e: SupervisorEvents[K]) => boolean = () => true): Promise<SupervisorEvents[K]> {
  return new Promise((resolve) => {
    const on = (e: SupervisorEvents[K]): void => {
      if (!match(e)) return;
      s.events.off(name, on as never);
      resolve(e);
    };
    s.events.on(name, on as never);
  });
}

/** A supervisor with fake-agent profiles: `args` before the prompt, `resumeArgs` for a resume. */
async function withProfiles(profiles: Record<string, { args: string[]; resumeArgs: string[] }>, mailbox: Record<string, number> = {}): Promise<Supervisor> {
  repo = makeRepo();
  const agents = Object.fromEntries(Object.entries(profiles).map(([name, p]) => [name, {
    command: process.execPath, args: [FAKE_AGENT, '--stream-json', ...p.args, '-p', '{prompt}'], parser: 'claude-stream-json' as const, resumeArgs: p.resumeArgs,
  }]));
  supervisor = createSupervisor({
    repo: repo.repo, workers: 1, stateDir: repo.stateDir, worktreeRoot: repo.worktreeRoot, heartbeatMs: 200, agents,
    mailbox: { pollMs: 200, recheckMs: 100, ...mailbox },
  });
  await supervisor.start();
  return supervisor;
}

const git = (cwd: string, ...args: string[]): string => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();

describe('mailbox: messages to agents that finished', () => {
  it('resumes the same session with the message as its prompt; the new commit lands on the task branch', async () => {
    const s = await withProfiles({
      notes: { args: ['--session-id', '11111111-2222-4333-8444-555555555555', '--append', 'notes.txt', '--text', '{prompt}', '--commit', 'a turn'], resumeArgs: ['--resume', '{session}'] },
    });
    await s.submit([{ id: 'work', agent: 'notes', prompt: 'first' }]);
    await s.settled();
    const first = await taskOf(s, 'work');
    expect(first).toMatchObject({ status: 'complete', session: { id: '11111111-2222-4333-8444-555555555555' } });

    const delivered = next(s, 'coord:delivered', (e) => e.taskId === 'work');
    const message = await s.message('work', 'second \u001b[31mturn\u001b[0m');
    expect(message.seq).toBe(1);
    expect(await delivered).toMatchObject({ uptoSeq: 1, route: 'resume' });
    await s.settled();

    const after = await taskOf(s, 'work');
    expect(after).toMatchObject({ status: 'complete', attempts: 2, session: { id: '11111111-2222-4333-8444-555555555555' } });
    expect(after?.commit).not.toBe(first?.commit);
    expect(git(repo.repo, 'rev-parse', `${after?.commit}^`)).toBe(first?.commit);
    // The resumed run started from the task's own commit: both turns' text is in the file.
    expect(git(repo.repo, 'show', 'coord/work:notes.txt')).toBe('firstsecond turn');
    const argvLine = readFileSync(after?.logFile ?? '', 'utf8').split('\n')[0] ?? '';
    expect(argvLine).toContain('"--resume","11111111-2222-4333-8444-555555555555"');
    const mailbox = after?.mailbox;
    expect(mailbox).toMatchObject({ readSeq: 1, unread: 0, messages: [{ seq: 1, source: 'operator', text: 'second turn' }] });
    expect(mailbox?.deliveries).toHaveLength(1);
    expect(mailbox?.deliveries[0]?.attempts.map((a) => `${a.outcome}:${a.code}`)).toEqual(['handed-over:SESSION_ENDED', 'delivered:OK']);
    expect(mailbox?.deliveries[0]).toMatchObject({ status: 'delivered', stage: 'recovered', route: 'resume' });
    expect(mailbox?.deliveries[0]?.hops.map((h) => `${h.to}:${h.reason}`)).toEqual(['resume:resume']);
  });

  it('blocks a task whose agent gives the same finding three turns running, until an override with a reason', async () => {
    const s = await withProfiles({ echo: { args: ['--result', '{prompt}'], resumeArgs: ['--resume', '{session}'] } });
    await s.submit([{ id: 'loop', agent: 'echo', prompt: 'start' }]);
    await s.settled();
    const blocked = next(s, 'coord:blocked', (e) => e.taskId === 'loop');
    for (let i = 0; i < 3; i += 1) {
      const delivered = next(s, 'coord:delivered', (e) => e.taskId === 'loop');
      await s.message('loop', 'the tests still fail');
      await delivered;
    }
    expect((await blocked).error.code).toBe('LOOP_REPEATED_FINDING');
    expect(await taskOf(s, 'loop')).toMatchObject({ status: 'blocked', error: { code: 'LOOP_REPEATED_FINDING' }, attempts: 4 });

    await expect(s.unblock('loop', '  ')).rejects.toMatchObject({ code: 'USAGE' });
    const overridden = next(s, 'coord:overridden');
    const override = await s.unblock('loop', 'the finding is about a flaky test; checked by hand');
    expect(override).toMatchObject({ code: 'LOOP_REPEATED_FINDING', reason: 'the finding is about a flaky test; checked by hand' });
    expect(await overridden).toMatchObject({ taskId: 'loop', code: 'LOOP_REPEATED_FINDING' });
    const task = await taskOf(s, 'loop');
    expect(task).toMatchObject({ status: 'complete', error: null });
    expect(task?.mailbox?.overrides).toEqual([expect.objectContaining({ code: 'LOOP_REPEATED_FINDING', reason: 'the finding is about a flaky test; checked by hand' })]);
    expect(task?.mailbox?.loop).toMatchObject({ repeated: 0, noProgress: 0 });
    // A message after the override is delivered again.
    const delivered = next(s, 'coord:delivered', (e) => e.taskId === 'loop');
    await s.message('loop', 'one more look');
    await delivered;
  });

  it('a resume that fails twice respawns the agent in a fresh session with a thread summary', async () => {
    const s = await withProfiles({ flaky: { args: ['--print', 'PROMPT<<{prompt}>>'], resumeArgs: ['--resume', '{session}', '--api-error', '500'] } });
    await s.submit([{ id: 'fix', agent: 'flaky', prompt: 'fix the login redirect' }]);
    await s.settled();
    const delivered = next(s, 'coord:delivered', (e) => e.taskId === 'fix');
    await s.message('fix', 'also cover the logout redirect');
    expect(await delivered).toMatchObject({ route: 'respawn' });
    await s.settled();
    const task = await taskOf(s, 'fix');
    expect(task).toMatchObject({ status: 'complete', attempts: 4 });
    const delivery = task?.mailbox?.deliveries[0];
    expect(delivery?.hops.map((h) => `${h.to}:${h.code}`)).toEqual(['resume:SESSION_ENDED', 'resume:AGENT_FAILED', 'respawn:AGENT_FAILED']);
    expect(delivery?.attempts.map((a) => a.outcome)).toEqual(['handed-over', 'hopped', 'hopped', 'delivered']);
    const log = readFileSync(task?.logFile ?? '', 'utf8');
    expect(log).not.toContain('--resume');
    expect(log).toContain('## The original task');
    expect(log).toContain('fix the login redirect');
    expect(log).toContain('also cover the logout redirect');
  });
});

describe('mailbox: live interactive sessions (the collision policy)', () => {
  it('types a message in only once the session is quiet: a busy one is deferred and re-checked', async () => {
    const s = await withProfiles({ chat: { args: ['--interactive', '--busy-ms', '1500'], resumeArgs: ['--resume', '{session}'] } }, { quietWindowMs: 400, recheckMs: 150, maxDeferMs: 30_000 });
    const started = next(s, 'coord:started', (e) => e.taskId === 'chat');
    await s.submit([{ id: 'chat', agent: 'chat', prompt: 'start talking', interactive: true }]);
    await started;
    const typed = next(s, 'coord:trigger', (e) => e.taskId === 'chat' && e.outcome === 'typed');
    const sentAt = Date.now();
    await s.message('chat', 'hello there');
    await typed;
    const task = await taskOf(s, 'chat');
    expect(task?.status).toBe('running');
    const tries = task?.mailbox?.deliveries[0]?.attempts ?? [];
    expect(tries[0]).toMatchObject({ outcome: 'deferred', code: 'SESSION_BUSY', stage: 'live' });
    expect(tries.at(-1)).toMatchObject({ outcome: 'typed', code: 'OK' });
    // Typed only after the chatter (1.5 s from the start) stopped and the quiet window passed.
    expect(Date.parse(tries.at(-1)?.at ?? '') - sentAt).toBeGreaterThanOrEqual(400);
    expect(task?.mailbox).toMatchObject({ readSeq: 1, unread: 0 });
    await vi.waitFor(() => expect(readFileSync(task?.logFile ?? '', 'utf8')).toContain('got: hello there'), { timeout: 10_000, interval: 100 });
  });

  it('a session busy past the defer bound is interrupted and resumed with the message', async () => {
    const s = await withProfiles({
      chatty: { args: ['--session-id', '99999999-2222-4333-8444-555555555555', '--interactive', '--busy-ms', '600000'], resumeArgs: ['--resume', '{session}'] },
    }, { quietWindowMs: 400, recheckMs: 100, maxDeferMs: 800 });
    const started = next(s, 'coord:started', (e) => e.taskId === 'busy');
    await s.submit([{ id: 'busy', agent: 'chatty', prompt: 'never stop', interactive: true }]);
    await started;
    const hopped = next(s, 'coord:trigger', (e) => e.taskId === 'busy' && e.outcome === 'hopped');
    const restarted = next(s, 'coord:started', (e) => e.taskId === 'busy');
    await s.message('busy', 'stop and listen');
    expect(await hopped).toMatchObject({ code: 'SESSION_BUSY', stage: 'resume' });
    await restarted;
    const task = await taskOf(s, 'busy');
    const tries = task?.mailbox?.deliveries[0]?.attempts ?? [];
    expect(tries.filter((a) => a.outcome === 'deferred').length).toBeGreaterThanOrEqual(2);
    expect(task?.history.some((start) => start.released && /waited \d+ ms for the session to be quiet/.test(start.releaseReason ?? ''))).toBe(true);
    // The released start burnt no attempt: the resumed run writes to the same attempt's log, after it.
    await vi.waitFor(() => expect(readFileSync(task?.logFile ?? '', 'utf8').split('\n').filter((l) => l.includes(' argv ')).length).toBe(2), { timeout: 10_000, interval: 100 });
    const argvLine = readFileSync(task?.logFile ?? '', 'utf8').split('\n').filter((l) => l.includes(' argv ')).at(-1) ?? '';
    expect(argvLine).toContain('"--resume","99999999-2222-4333-8444-555555555555"');
    expect(argvLine).toContain('stop and listen');
  });
});

describe('mailbox: stale sessions', () => {
  it('a session idle past the stale threshold is not resumed: a fresh one gets the thread summary', async () => {
    const s = await withProfiles({ notes: { args: ['--print', 'PROMPT<<{prompt}>>'], resumeArgs: ['--resume', '{session}'] } }, { staleAfterMs: 1 });
    await s.submit([{ id: 'old', agent: 'notes', prompt: 'the original ask' }]);
    await s.settled();
    // The session ended its turn before settled() resolved; once the clock has moved 2 ms past
    // that, it is idle longer than the 1 ms threshold (a fast run can otherwise message it
    // within the same millisecond). The positive signal of staleness is the hop itself.
    const settledAt = Date.now();
    await expect.poll(() => Date.now(), { interval: 1 }).toBeGreaterThan(settledAt + 1);
    const delivered = next(s, 'coord:delivered', (e) => e.taskId === 'old');
    await s.message('old', 'carry on');
    expect(await delivered).toMatchObject({ route: 'respawn' });
    await s.settled();
    const task = await taskOf(s, 'old');
    expect(task?.mailbox?.deliveries[0]?.hops.map((h) => `${h.to}:${h.reason}:${h.code}`)).toEqual(['respawn:stale-session:SESSION_STALE']);
    const log = readFileSync(task?.logFile ?? '', 'utf8');
    expect(log).not.toContain('--resume');
    expect(log).toContain('the original ask');
  });
});

/** A supervisor whose `claude` profile is the real CLI against an emulator playing `script`. */
async function withClaude(script: Turn[]): Promise<Supervisor> {
  repo = makeRepo();
  api = await createAnthropicEmulator({ script });
  const home = path.join(repo.dir, 'home');
  mkdirSync(home);
  supervisor = createSupervisor({
    repo: repo.repo, workers: 1, stateDir: repo.stateDir, worktreeRoot: repo.worktreeRoot, heartbeatMs: 200, mailbox: { pollMs: 200 },
    agents: {
      claude: {
        command: claudeBinary(), args: ['--allowedTools', 'Bash'],
        env: { ANTHROPIC_BASE_URL: api.url, ANTHROPIC_API_KEY: 'sk-ant-emulated', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1', CLAUDE_CODE_MAX_RETRIES: '0', HOME: home, TMPDIR: repo.dir },
      },
    },
  });
  await supervisor.start();
  return supervisor;
}

describe('mailbox: the real Claude Code CLI', () => {
  it('a message to a finished task resumes the same session, and its new commit lands on the task branch', async () => {
    const commit = (file: string) => ({ toolUse: { name: 'Bash', input: { command: `echo ${file} > ${file} && git add ${file} && git commit -qm "Add ${file}"`, description: `Commit ${file}` } } });
    const s = await withClaude([commit('a.txt'), { text: 'Committed a.txt.' }, commit('b.txt'), { text: 'Committed b.txt.' }]);
    await s.submit([{ id: 'fix', agent: 'claude', prompt: 'Create a.txt and commit it.' }]);
    await s.settled();
    const first = await taskOf(s, 'fix');
    expect(first?.status).toBe('complete');
    const sessionId = first?.session?.id;
    expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);

    const sent = Date.now();
    const delivered = next(s, 'coord:delivered', (e) => e.taskId === 'fix');
    await s.message('fix', 'Now create b.txt and commit it too.');
    await delivered;
    await s.settled();
    const after = await taskOf(s, 'fix');
    expect(after).toMatchObject({ status: 'complete', attempts: 2, session: { id: sessionId } });
    expect(git(repo.repo, 'rev-parse', `${after?.commit}^`)).toBe(first?.commit);
    expect(git(repo.repo, 'ls-tree', '--name-only', 'coord/fix').split('\n')).toEqual(expect.arrayContaining(['a.txt', 'b.txt']));
    const resumed = api?.mainRequests().find((r) => r.at >= sent && lastUserText(r.body).includes('Now create b.txt'));
    expect(resumed).toBeDefined();
    // The figure the docs give: from the message to the agent's first API request.
    console.info(`[mailbox] message to first API request of the resumed session: ${(resumed?.at ?? sent) - sent} ms`);
  });

  it('three messages that each get the same finding and no commit block the task; unblock needs a reason and is recorded', async () => {
    const s = await withClaude([{ text: 'Looked at it.' }, { text: 'The tests still fail in login.ts.', repeat: 3 }, { text: 'Checked again.' }]);
    await s.submit([{ id: 'loop', agent: 'claude', prompt: 'Look at the failing tests.' }]);
    await s.settled();
    const blocked = next(s, 'coord:blocked', (e) => e.taskId === 'loop');
    for (let i = 0; i < 3; i += 1) {
      const delivered = next(s, 'coord:delivered', (e) => e.taskId === 'loop');
      await s.message('loop', 'Run the tests again and fix them.');
      await delivered;
    }
    expect((await blocked).error.code).toBe('LOOP_REPEATED_FINDING');
    expect(await taskOf(s, 'loop')).toMatchObject({ status: 'blocked', error: { code: 'LOOP_REPEATED_FINDING' } });
    await expect(s.unblock('loop', '')).rejects.toMatchObject({ code: 'USAGE' });
    await s.unblock('loop', 'known flaky test, tracked elsewhere');
    const task = await taskOf(s, 'loop');
    expect(task).toMatchObject({ status: 'complete', mailbox: { overrides: [{ code: 'LOOP_REPEATED_FINDING', reason: 'known flaky test, tracked elsewhere' }] } });
  });

  it('a resume that fails twice respawns with a thread summary: the prompt the API receives holds the thread', async () => {
    const s = await withClaude([{ text: 'Fixed the login redirect.' }, { status: 500, message: 'overloaded', repeat: 2 }, { text: 'Covered the logout too.' }]);
    await s.submit([{ id: 'fix', agent: 'claude', prompt: 'Fix the login redirect.' }]);
    await s.settled();
    const delivered = next(s, 'coord:delivered', (e) => e.taskId === 'fix');
    await s.message('fix', 'Also cover the logout redirect.');
    expect(await delivered).toMatchObject({ route: 'respawn' });
    await s.settled();
    const task = await taskOf(s, 'fix');
    expect(task?.mailbox?.deliveries[0]?.hops.map((h) => h.to)).toEqual(['resume', 'resume', 'respawn']);
    expect(task?.session?.id).not.toBe(task?.history[0]?.session?.id);
    const prompt = lastUserText(api?.mainRequests().at(-1)?.body);
    expect(prompt).toContain('## The original task\nFix the login redirect.');
    expect(prompt).toContain('Also cover the logout redirect.');
    expect(prompt).toContain('Fixed the login redirect.');
  });
});
