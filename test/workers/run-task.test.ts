import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createTempRepo, FAKE_AGENT, git, isGone, removeTempRepo, runAssign, WorkerHandle, type TempRepo,
} from './harness.js';

const node = process.execPath;

describe('worker orchestrator: run tasks in a PTY', () => {
  let repo: TempRepo;
  let worker: WorkerHandle;

  beforeEach(async () => {
    repo = await createTempRepo();
    worker = new WorkerHandle(repo.worktree);
    await worker.start(repo.worktree);
  });
  afterEach(async () => {
    expect(worker.invalid).toEqual([]);
    await worker.dispose();
    await removeTempRepo(repo);
  });

  it('runs an agent that writes and commits a file, and reports the branch tip', async () => {
    worker.send(runAssign(repo, 'write-commit', [node, FAKE_AGENT, '--write', 'src/hello.txt', '--text', 'hello\n',
      '--commit', 'agent: add hello']));
    const started = await worker.waitFor('coord:started', (m) => m.taskId === 'write-commit');
    expect(started.pid).toEqual(expect.any(Number));
    const final = await worker.final('write-commit');
    expect(final).toMatchObject({ type: 'coord:complete', taskId: 'write-commit', attempt: 1, lease: 'lease-write-commit', exitCode: 0, result: null });
    if (final.type !== 'coord:complete') throw new Error('expected complete');
    expect(final.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(await git(repo.repo, 'rev-parse', 'coord/write-commit')).toBe(final.commit);
    expect(await git(repo.repo, 'log', '--format=%s', 'coord/write-commit')).toBe('agent: add hello\ninitial');
    expect(await git(repo.repo, 'show', `${final.commit ?? ''}:src/hello.txt`)).toBe('hello');

    const log = await readFile(path.join(repo.logDir, 'write-commit.log'), 'utf8');
    expect(log).toContain('COORD_TASK_ID=write-commit');
    expect(log).toContain('COORD_WORKER_ID=w1');
    expect(log).toContain('COORD_ATTEMPT=1');
    expect(log).toContain(`COORD_WORKTREE=${repo.worktree}`);
    expect(log).toContain('attempt 1');
    // Left detached and clean: the branch can be merged or deleted from elsewhere.
    expect(await git(repo.worktree, 'status', '--porcelain')).toBe('');
    expect(await git(repo.worktree, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('HEAD');
  });

  it('commits changes the task left uncommitted (ignored files excluded) and leaves the worktree clean', async () => {
    worker.send(runAssign(repo, 'dirty', [node, FAKE_AGENT, '--write', 'new-file.txt', '--text', 'untracked\n',
      '--append', 'README.md', '--text', 'more\n', '--write', 'debug.log', '--text', 'ignored\n']));
    const final = await worker.final('dirty');
    expect(final.type).toBe('coord:complete');
    expect(await git(repo.repo, 'log', '-1', '--format=%s', 'coord/dirty')).toBe('coord: dirty attempt 1 (uncommitted changes)');
    const files = (await git(repo.repo, 'show', '--name-only', '--format=', 'coord/dirty')).split('\n').sort();
    expect(files).toEqual(['README.md', 'new-file.txt']);
    expect(await git(repo.worktree, 'status', '--porcelain', '--untracked-files=all')).toBe('');
    // The commit uses the repo's configured identity.
    expect(await git(repo.repo, 'log', '-1', '--format=%an <%ae>', 'coord/dirty')).toBe('Test User <test@example.com>');
  });

  it('reports a non-zero exit as TASK_EXIT_NONZERO (retryable) and still commits the work', async () => {
    worker.send(runAssign(repo, 'exit3', [node, FAKE_AGENT, '--write', 'partial.txt', '--text', 'half done\n', '--exit', '3']));
    const final = await worker.final('exit3');
    expect(final).toMatchObject({ type: 'coord:failed', code: 'TASK_EXIT_NONZERO', exitCode: 3, signal: null, retryable: true, retryAfterMs: null });
    expect(final.commit).toBe(await git(repo.repo, 'rev-parse', 'coord/exit3'));
    expect(await git(repo.repo, 'show', 'coord/exit3:partial.txt')).toBe('half done');
  });

  it('reports a program that does not exist as TASK_SPAWN_FAILED (not retryable) without coord:started', async () => {
    worker.send(runAssign(repo, 'no-such', ['definitely-not-a-program-7f3a', '--help']));
    const final = await worker.final('no-such');
    expect(final).toMatchObject({ type: 'coord:failed', code: 'TASK_SPAWN_FAILED', retryable: false });
    if (final.type === 'coord:failed') expect(final.message).toMatch(/not found/);
    expect(worker.all('coord:started')).toEqual([]);
  });

  it('times out: kills the whole process group, grandchildren included', async () => {
    const pidFile = path.join(repo.root, 'grandchild.pid');
    // `trap "" HUP` is inherited by the backgrounded sleep: the hangup sent when the session
    // leader dies would not kill it, only a signal to the process group does.
    worker.send(runAssign(repo, 'slow', ['sh', '-c', 'trap "" HUP; sleep 100 & echo $! > "$PID_FILE"; wait'],
      { timeoutMs: 1_000, env: { PID_FILE: pidFile } }));
    const started = await worker.waitFor('coord:started', (m) => m.taskId === 'slow');
    const final = await worker.final('slow');
    expect(final).toMatchObject({ type: 'coord:failed', code: 'TASK_TIMEOUT', retryable: true, signal: 'SIGTERM', exitCode: null });
    const grandchild = Number((await readFile(pidFile, 'utf8')).trim());
    expect(grandchild).toBeGreaterThan(1);
    await expect.poll(() => isGone(grandchild), { timeout: 5_000, interval: 50, message: "the timed-out task's grandchild to be gone" }).toBe(true);
    expect(await isGone(started.pid ?? -1)).toBe(true);
  });

  it('forces the kill with SIGKILL when the task ignores SIGTERM', async () => {
    worker.send(runAssign(repo, 'stubborn', [node, FAKE_AGENT, '--ignore-sigterm', '--sleep', '60000'], { timeoutMs: 1_000 }));
    const final = await worker.final('stubborn');
    expect(final).toMatchObject({ type: 'coord:failed', code: 'TASK_TIMEOUT', signal: 'SIGKILL' });
    const log = await readFile(path.join(repo.logDir, 'stubborn.log'), 'utf8');
    expect(log).toContain('SIGTERM received; ignoring it');
    expect(log).toContain('sending SIGKILL');
  });

  it('cancels only with the current lease', async () => {
    worker.send(runAssign(repo, 'cancel-me', [node, FAKE_AGENT, '--sleep', '60000'], { lease: 'L2' }));
    const started = await worker.waitFor('coord:started', (m) => m.taskId === 'cancel-me');
    worker.send({ type: 'coord:cancel', taskId: 'cancel-me', attempt: 1, lease: 'L1-stale', reason: 'stale' });
    // A heartbeat sent after the stale cancel still lists the task.
    const sentAfter = Date.now();
    const beat = await worker.waitFor('coord:heartbeat', (m) => m.sentAt > sentAfter + 250);
    expect(beat.running).toEqual(['cancel-me']);
    expect(worker.all('coord:failed')).toEqual([]);

    worker.send({ type: 'coord:cancel', taskId: 'cancel-me', attempt: 1, lease: 'L2', reason: 'user asked' });
    const final = await worker.final('cancel-me');
    expect(final).toMatchObject({ type: 'coord:failed', code: 'TASK_CANCELLED', retryable: true, lease: 'L2' });
    await expect.poll(() => isGone(started.pid ?? -1), { timeout: 5_000, interval: 50, message: 'the cancelled task process to be gone' }).toBe(true);
  });

  it('reports progress while output flows, throttled', async () => {
    worker.send(runAssign(repo, 'chatty', ['sh', '-c', 'for i in 1 2 3 4 5 6 7 8; do echo "line $i"; sleep 0.25; done']));
    const final = await worker.final('chatty');
    expect(final.type).toBe('coord:complete');
    const progress = worker.all('coord:progress').filter((m) => m.taskId === 'chatty').map((m) => m.outputBytes);
    // ~2 s of output at one report per ~500 ms: a handful, not one per line.
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress.length).toBeLessThan(8);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(progress.at(-1)).toBeGreaterThanOrEqual(8 * 'line 1\r\n'.length);
  });

  it('refuses a second assign while busy, ignores a resent one, and does not disturb the first', async () => {
    const first = runAssign(repo, 'first', [node, FAKE_AGENT, '--sleep', '1500', '--write', 'first.txt', '--text', '1']);
    worker.send(first);
    await worker.waitFor('coord:started', (m) => m.taskId === 'first');
    worker.send(first); // a resend: same task, same lease
    worker.send(runAssign(repo, 'second', [node, FAKE_AGENT]));
    const refused = await worker.final('second');
    expect(refused).toMatchObject({ type: 'coord:failed', code: 'TASK_CANCELLED', retryable: true, commit: null });
    const final = await worker.final('first');
    expect(final.type).toBe('coord:complete');
    expect(worker.all('coord:failed').filter((m) => m.taskId === 'first')).toEqual([]);
    expect(await git(repo.repo, 'show', 'coord/first:first.txt')).toBe('1');
  });

  it('reuses the branch on a retried attempt, starting again from startCommit', async () => {
    worker.send(runAssign(repo, 'retry', [node, FAKE_AGENT, '--write', 'a.txt', '--text', 'attempt 1', '--exit', '1']));
    await worker.final('retry');
    const second = { ...runAssign(repo, 'retry', [node, FAKE_AGENT, '--write', 'b.txt', '--text', 'attempt 2']), attempt: 2, lease: 'lease-2' };
    worker.send(second);
    const final = await worker.waitFor('coord:complete', (m) => m.taskId === 'retry' && m.attempt === 2);
    expect(await git(repo.repo, 'log', '--format=%s', 'coord/retry')).toBe('coord: retry attempt 2 (uncommitted changes)\ninitial');
    expect(await git(repo.repo, 'ls-tree', '--name-only', final.commit ?? '')).not.toContain('a.txt');
  });

  it('reports a start commit that does not exist as GIT_FAILED (not retryable, the task\'s), without running the task', async () => {
    worker.send({ ...runAssign(repo, 'bad-start', [node, FAKE_AGENT]), startCommit: 'f'.repeat(40) });
    const final = await worker.final('bad-start');
    expect(final).toMatchObject({ type: 'coord:failed', code: 'GIT_FAILED', retryable: false, commit: null });
    expect(worker.all('coord:started')).toEqual([]);
  });
});
