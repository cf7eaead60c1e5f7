import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import {
  createTempRepo, FAKE_AGENT, git, HANDLERS, isGone, moduleAssign, removeTempRepo, runAssign, WorkerHandle, type TempRepo,
} from './harness.js';
import path from 'node:path';

const node = process.execPath;
const sleeper = (ms: number): string[] => [node, FAKE_AGENT, '--sleep', String(ms)];

describe('worker orchestrator: drain, shutdown and losing the parent', () => {
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

  it('exits when the parent disconnects, and kills its task process group', async () => {
    // The grandchild ignores SIGHUP, so the hangup the kernel sends when the PTY's session
    // leader dies does not kill it: only signalling the whole process group does.
    worker.send(runAssign(repo, 'orphan', ['sh', '-c', 'trap "" HUP; sleep 60 & wait']));
    const started = await worker.waitFor('coord:started', (m) => m.taskId === 'orphan');
    const leader = started.pid ?? -1;
    expect(await isGone(leader)).toBe(false);
    worker.child.disconnect();
    const exit = await worker.exited;
    expect(exit.code).toBe(1);
    await expect.poll(() => isGone(leader), { timeout: 5_000, interval: 50, message: 'the orphaned task leader to be gone' }).toBe(true);
    // The whole group is gone, not only its leader: no process is left in it.
    await expect.poll(() => groupIsEmpty(leader), { timeout: 5_000, interval: 50, message: "the task's process group to be empty" }).toBe(true);
  });

  it('exits on SIGTERM and kills its task process group', async () => {
    worker.send(runAssign(repo, 'term', sleeper(60_000)));
    const started = await worker.waitFor('coord:started', (m) => m.taskId === 'term');
    worker.child.kill('SIGTERM');
    expect((await worker.exited).code).toBe(143);
    await expect.poll(() => isGone(started.pid ?? -1), { timeout: 5_000, interval: 50, message: 'the task process to be gone' }).toBe(true);
  });

  it('lists the running task in heartbeats', async () => {
    worker.send(runAssign(repo, 'beating', sleeper(1_500)));
    const beat = await worker.waitFor('coord:heartbeat', (m) => m.running.includes('beating'));
    expect(beat.running).toEqual(['beating']);
    await worker.final('beating');
    const after = Date.now();
    const later = await worker.waitFor('coord:heartbeat', (m) => m.sentAt > after);
    expect(later.running).toEqual([]);
  });

  it('drains: refuses new assigns (retryable) and lets the running task finish', async () => {
    worker.send(runAssign(repo, 'in-flight', sleeper(1_000)));
    await worker.waitFor('coord:started', (m) => m.taskId === 'in-flight');
    worker.send({ type: 'coord:drain', deadlineMs: 10_000 });
    worker.send(runAssign(repo, 'late', sleeper(0)));
    expect(await worker.final('late')).toMatchObject({ type: 'coord:failed', code: 'TASK_CANCELLED', retryable: true });
    expect(await worker.final('in-flight')).toMatchObject({ type: 'coord:complete' });
    worker.send(moduleAssign(repo, 'later', path.join(HANDLERS, 'echo.mjs'), null));
    expect(await worker.final('later')).toMatchObject({ type: 'coord:failed', code: 'TASK_CANCELLED' });
  });

  it('shuts down: cancels the running task, reports it, and exits 0', async () => {
    worker.send(runAssign(repo, 'interrupted', [node, FAKE_AGENT, '--write', 'wip.txt', '--text', 'wip', '--sleep', '60000']));
    const started = await worker.waitFor('coord:started', (m) => m.taskId === 'interrupted');
    // Wait until the agent has written its file, so the shutdown commit has work to keep: its
    // content, not just its existence (writeFileSync creates the file empty, then writes, and
    // on a loaded machine the SIGTERM can land in between).
    const wip = path.join(repo.worktree, 'wip.txt');
    await expect.poll(() => existsSync(wip) && readFileSync(wip, 'utf8'), { timeout: 10_000, interval: 50, message: 'the agent to write wip.txt' }).toBe('wip');
    worker.send({ type: 'coord:shutdown', graceMs: 10_000 });
    const final = await worker.final('interrupted');
    expect(final).toMatchObject({ type: 'coord:failed', code: 'TASK_CANCELLED', retryable: true });
    expect(final.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(await git(repo.repo, 'show', `${final.commit ?? ''}:wip.txt`)).toBe('wip');
    expect((await worker.exited).code).toBe(0);
    expect(await isGone(started.pid ?? -1)).toBe(true);
  });

  it('shuts down at once when idle, after a module task started the thread pool', async () => {
    worker.send(moduleAssign(repo, 'warm', path.join(HANDLERS, 'echo.mjs'), 1));
    await worker.final('warm');
    worker.send({ type: 'coord:shutdown', graceMs: 5_000 });
    expect((await worker.exited).code).toBe(0);
  });
});

// /proc lists every process; one whose pgid is `pgid` and that is not a zombie still runs.
async function groupIsEmpty(pgid: number): Promise<boolean> {
  const { readdir, readFile } = await import('node:fs/promises');
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') return false;
  }
  return true;
}
