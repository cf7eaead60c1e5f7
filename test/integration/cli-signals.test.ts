/**
 * Signals to the CLI: SIGTERM drains, then stops, and leaves no process behind.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunSummary } from '../../src/index.js';
import { startCli } from '../helpers/cli.js';
import { isAlive, makeRepo, type TempRepo } from '../helpers/git-repo.js';

let repo: TempRepo;
afterEach(() => repo?.cleanup());

describe('coord and signals', () => {
  it('SIGTERM mid-run drains to the deadline, cancels, returns tasks to ready and leaves no child process', async () => {
    repo = makeRepo();
    const pids = path.join(repo.dir, 'pids');
    const tasks = ['t1', 't2', 't3'].map((id) => ({
      id,
      // The task's shell and a grandchild that ignores SIGHUP: only a group kill ends it.
      run: ['sh', '-c', `echo $$ >> ${pids}; trap '' HUP; sleep 120 & echo $! >> ${pids}; wait`],
    }));
    tasks.push({ id: 'later', run: ['true'] } as (typeof tasks)[number]);
    const file = path.join(repo.dir, 'tasks.json');
    writeFileSync(file, JSON.stringify({ tasks: tasks.map((t, i) => (i < 3 ? t : { ...t, deps: ['t1'] })) }));
    const summaryFile = path.join(repo.dir, 'run.json');
    const run = startCli([
      '--workers', '3', '--repo', repo.repo, '--tasks', file, '--once', '--summary', summaryFile,
      '--worktree-root', repo.worktreeRoot, '--state-dir', repo.stateDir, '--drain-deadline-ms', '300',
    ]);
    // Each task writes two pids: its shell's and its grandchild's.
    await expect
      .poll(() => (existsSync(pids) ? readFileSync(pids, 'utf8').trim().split('\n').length : 0), {
        timeout: 10_000, interval: 25, message: 'three tasks to start',
      })
      .toBeGreaterThanOrEqual(6);
    run.child.kill('SIGTERM');
    const { code } = await run.exit;
    expect(code).toBe(1);
    expect(run.stderr()).toContain('draining');
    const summary = JSON.parse(readFileSync(summaryFile, 'utf8')) as RunSummary;
    expect(summary.coordinator.state).toBe('stopped');
    const statuses = Object.fromEntries(summary.tasks.map((t) => [t.id, t.status]));
    expect(statuses).toEqual({ t1: 'ready', t2: 'ready', t3: 'ready', later: 'pending' });
    // Released by the drain, so no attempt was used.
    expect(summary.tasks.map((t) => t.attempts)).toEqual([0, 0, 0, 0]);
    const taskPids = readFileSync(pids, 'utf8').trim().split('\n').map(Number);
    const workerPids = summary.workers.map((w) => w.pid ?? 0);
    for (const pid of [...taskPids, ...workerPids]) expect(isAlive(pid), `pid ${pid} still alive`).toBe(false);
  });
});
