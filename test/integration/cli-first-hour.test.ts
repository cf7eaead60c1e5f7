/**
 * What a new user sees after a run goes wrong: why a task failed and where to look, told
 * on the terminal by the real CLI with real workers, PTYs and git.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createSupervisor } from '../../src/index.js';
import { runCli } from '../helpers/cli.js';
import { makeRepo, type TempRepo } from '../helpers/git-repo.js';

let repo: TempRepo;
afterEach(() => repo?.cleanup());

function writeTasks(tasks: unknown[]): string {
  const file = path.join(repo.dir, 'tasks.json');
  writeFileSync(file, JSON.stringify({ tasks }, null, 2));
  return file;
}

const runOnce = (tasksFile: string, extra: string[] = []) => runCli([
  '--workers', '2', '--repo', repo.repo, '--tasks', tasksFile, '--once',
  '--worktree-root', repo.worktreeRoot, '--state-dir', repo.stateDir, ...extra,
], { cwd: repo.dir });

describe('a failed attempt on the terminal', () => {
  it('shows the last lines the task printed and the path of its log', async () => {
    repo = makeRepo();
    const tasks = writeTasks([{
      id: 'lint', maxAttempts: 1,
      // the sleep: node-pty can drop the last output of a process that exits at once
      run: ['sh', '-c', 'echo checking; echo "sh: 1: eslint: not found" >&2; sleep 0.3; exit 127'],
    }]);
    const { code, stderr } = await runOnce(tasks);
    expect(code).toBe(1);
    const lines = stderr.split('\n');
    const at = lines.findIndex((line) => line.includes('✖ lint failed: TASK_EXIT_NONZERO exited with code 127'));
    expect(at, stderr).toBeGreaterThanOrEqual(0);
    expect(lines.slice(at + 1, at + 3).map((line) => line.trim())).toEqual(['│ checking', '│ sh: 1: eslint: not found']);
    const log = lines[at + 3]?.trim().match(/^log: (.+)$/)?.[1];
    expect(log).toBe(path.join('state', 'logs', 'tasks', 'lint', 'attempt-1.log'));
    expect(readFileSync(path.join(repo.dir, log ?? ''), 'utf8')).toContain('eslint: not found');
  });
});

describe('where things are', () => {
  it('says at the start where the state, store, worktrees and log are, and at the end where the branches are', async () => {
    repo = makeRepo();
    const tasks = writeTasks([{ id: 'hello', run: ['sh', '-c', 'echo hi > hello.txt'] }]);
    const { code, stderr } = await runOnce(tasks, ['--summary', path.join(repo.dir, 'run.json')]);
    expect(code, stderr).toBe(0);
    expect(stderr).toContain(`coord: state ${repo.stateDir}`);
    expect(stderr).toContain(`store sqlite:${path.join(repo.stateDir, 'coord.db')}`);
    expect(stderr).toContain(`worktrees ${repo.worktreeRoot}`);
    expect(stderr).toContain(`log ${path.join(repo.stateDir, 'logs', 'coord.log')}`);
    expect(stderr).toContain(`branches: 1 task on coord/<id> in ${repo.repo} (e.g. git -C ${repo.repo} log coord/hello)`);
    expect(stderr).toContain(`summary: ${path.join(repo.dir, 'run.json')}`);
    expect(stderr).toContain('1 task: 1 complete');
  });

  it('the demo says where its scratch repository is, and removes it after the run unless --keep', async () => {
    const scratch = (stderr: string): string => stderr.match(/coord demo: scratch repository (\S+)/)?.[1] ?? '';
    const removed = await runCli(['--workers', '2', '--demo']);
    expect(removed.code, removed.stderr).toBe(0);
    const gone = scratch(removed.stderr);
    expect(gone).toMatch(/coord-demo-/);
    expect(existsSync(path.dirname(gone))).toBe(false);
    const kept = await runCli(['--workers', '2', '--demo', '--keep']);
    expect(kept.code, kept.stderr).toBe(0);
    const here = scratch(kept.stderr);
    try {
      expect(existsSync(path.join(here, '.git'))).toBe(true);
      expect(kept.stderr).toContain(`tasks on coord/<id> in ${here} (e.g. git -C ${here} log coord/`);
    } finally {
      rmSync(path.dirname(here), { recursive: true, force: true });
    }
  });
});

describe('bad input says what to do', () => {
  it('BRANCH_EXISTS counts the branches and says how to remove them', async () => {
    repo = makeRepo();
    const ids = ['t1', 't2', 't3', 't4', 't5', 't6', 't7'];
    for (const id of ids) repo.git('branch', `coord/${id}`);
    const { code, stderr } = await runOnce(writeTasks(ids.map((id) => ({ id, run: ['true'] }))));
    expect(code).toBe(2);
    expect(stderr).toContain('BRANCH_EXISTS: 7 branches of these tasks already exist (coord/t1, coord/t2, coord/t3, coord/t4, coord/t5 and 2 more)');
    expect(stderr).toContain('coord clean --branches');
  });
});

describe('a task waiting for input', () => {
  it('is reported as waiting after a quiet period, with its last output line, before its timeout', async () => {
    repo = makeRepo();
    const s = createSupervisor({
      repo: repo.repo, workers: 1, stateDir: repo.stateDir, worktreeRoot: repo.worktreeRoot, store: 'memory:', quietAfterMs: 400, heartbeatMs: 200,
    });
    try {
      const waiting: Array<{ taskId: string; lastLine: string | null }> = [];
      s.events.on('coord:waiting', (e) => waiting.push({ taskId: e.taskId, lastLine: e.lastLine }));
      await s.start();
      await s.submit([{ id: 'ask', run: ['sh', '-c', 'echo installing; printf "Overwrite config? [y/N] "; read answer'], timeoutMs: 20_000, maxAttempts: 1 }]);
      await vi.waitFor(() => expect(waiting).toEqual([{ taskId: 'ask', lastLine: 'Overwrite config? [y/N]' }]), { timeout: 15_000, interval: 50 });
      expect(s.status().counts.running).toBe(1);
    } finally {
      await s.stop();
    }
  });
});
