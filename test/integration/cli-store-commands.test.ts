/**
 * Going again after a run, as a user would from a terminal: re-running a finished graph,
 * `--fresh`, and the commands that read or change the state — without a supervisor and with
 * one running — down to `coord clean` leaving nothing of coord behind. Real CLI processes,
 * real workers, real git, the real SQLite store.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runCli, startCli, type CliRun } from '../helpers/cli.js';
import { makeRepo, type TempRepo } from '../helpers/git-repo.js';

let repo: TempRepo;
let running: CliRun | undefined;
afterEach(async () => {
  if (running && running.child.exitCode === null) {
    running.child.kill('SIGTERM');
    await running.exit;
  }
  running = undefined;
  repo?.cleanup();
});

function writeTasks(tasks: unknown[], name = 'tasks.json'): string {
  const file = path.join(repo.dir, name);
  writeFileSync(file, JSON.stringify({ tasks }, null, 2));
  return file;
}

const where = (): string[] => ['--repo', repo.repo, '--state-dir', repo.stateDir];
const coord = (...args: string[]) => runCli(args, { cwd: repo.dir });
const runOnce = (file: string, ...extra: string[]) => coord('--workers', '2', ...where(), '--worktree-root', repo.worktreeRoot, '--tasks', file, '--once', ...extra);

/** A graph with a task that fails until `fixed` exists in the repository's parent folder. */
function flakyGraph(): string {
  const fixed = path.join(repo.dir, 'fixed');
  return writeTasks([
    { id: 'lint', maxAttempts: 1, run: ['sh', '-c', `test -e ${fixed} || { echo "eslint: not found"; sleep 0.3; exit 127; }`] },
    { id: 'build', run: ['sh', '-c', 'echo built > out.txt'] },
    { id: 'test', deps: ['lint', 'build'], run: ['true'] },
  ]);
}

describe('going again', () => {
  it('a re-run of a finished graph says what the store holds and exits with its status; redrive --dead and a re-run finish it', async () => {
    repo = makeRepo();
    const file = flakyGraph();
    expect((await runOnce(file)).code).toBe(1);
    const again = await runOnce(file);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('the store already holds these 3 tasks: 1 complete · 1 dead · 1 blocked; nothing to run — coord redrive --dead to retry the dead ones, --fresh to start over');
    expect(again.stderr).not.toContain('task   status');
    writeFileSync(path.join(repo.dir, 'fixed'), '');
    const redrive = await coord('redrive', '--dead', ...where());
    expect(redrive.code, redrive.stderr).toBe(0);
    expect(redrive.stdout).toContain('redrove lint and 1 dependent (test)');
    const resumed = await runOnce(file);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain('resuming the 2 ones not finished');
  });

  it('a changed task gets TASK_EXISTS with what to do; --fresh archives the store, removes the old branches and runs the file as new', async () => {
    repo = makeRepo();
    const file = writeTasks([{ id: 'hello', run: ['sh', '-c', 'echo one > hello.txt'] }]);
    expect((await runOnce(file)).code).toBe(0);
    writeTasks([{ id: 'hello', run: ['sh', '-c', 'echo two > hello.txt'] }]);
    const changed = await runOnce(file);
    expect(changed.code).toBe(2);
    expect(changed.stderr).toContain('TASK_EXISTS');
    expect(changed.stderr).toContain('start over with --fresh');
    const fresh = await runOnce(file, '--fresh');
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(fresh.stderr).toMatch(/archived the stored queue to .*coord\.db\.[0-9T-]+Z\.bak/);
    expect(fresh.stderr).toContain('removing 1 branch of the earlier run: coord/hello');
    expect(repo.git('show', 'coord/hello:hello.txt')).toBe('two');
    expect(readdirSync(repo.stateDir).filter((name) => name.endsWith('.bak'))).toHaveLength(1);
  });
});

describe('the store commands without a supervisor', () => {
  it('status, tasks, task and logs read what a run left; a repository with no run says so', async () => {
    repo = makeRepo();
    const none = await coord('status', ...where());
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('STATE_NOT_FOUND');
    await runOnce(flakyGraph());
    const storeFile = path.join(repo.stateDir, 'coord.db');
    const stored = readFileSync(storeFile);
    const status = await coord('status', ...where());
    expect(status.stdout).toContain('supervisor: not running');
    expect(status.stdout).toContain('3 tasks: 1 complete · 1 dead · 1 blocked');
    expect(status.stdout).toContain('task.failed lint TASK_EXIT_NONZERO');
    const dead = await coord('tasks', '--status', 'dead', '--json', ...where());
    expect((JSON.parse(dead.stdout) as Array<{ id: string }>).map((task) => task.id)).toEqual(['lint']);
    const task = await coord('task', 'lint', ...where());
    expect(task.stdout).toContain('lint: dead after 1 attempt');
    expect(task.stdout).toContain('error    TASK_EXIT_NONZERO: exited with code 127');
    expect(task.stdout).toContain(`log      ${path.join(repo.stateDir, 'logs', 'tasks', 'lint', 'attempt-1.log')}`);
    expect(task.stdout).toContain('needed by test');
    const logs = await coord('logs', 'lint', ...where());
    expect(logs.stdout).toContain('eslint: not found');
    expect((await coord('logs', 'test', ...where())).stderr).toContain('has not started yet');
    expect((await coord('task', 'nope', ...where())).code).toBe(1);
    // They opened the store read-only: not a byte of it changed.
    expect(readFileSync(storeFile).equals(stored)).toBe(true);
  });
});

describe('the store commands beside a running supervisor', () => {
  it('status sees it and what it runs; logs --follow ends with the attempt; a redrive is picked up by it', async () => {
    repo = makeRepo();
    const gate = path.join(repo.dir, 'go');
    const file = writeTasks([
      { id: 'slow', run: ['sh', '-c', `echo waiting; while [ ! -e ${gate} ]; do sleep 0.05; done; echo through`] },
      { id: 'flaky', maxAttempts: 1, run: ['sh', '-c', `test -e ${gate} || { sleep 0.3; exit 3; }`] },
    ]);
    // No --once: the supervisor stays up after the graph settles, as a long-running one would.
    running = startCli(['--workers', '2', ...where(), '--worktree-root', repo.worktreeRoot, '--tasks', file], { cwd: repo.dir });
    await vi.waitFor(() => expect(running?.stderr()).toContain('☠ flaky dead'), { timeout: 60_000, interval: 50 });
    const status = await coord('status', ...where());
    expect(status.stdout).toMatch(/supervisor: running, pid \d+/);
    expect(status.stdout).toMatch(/in flight:\n {2}slow on .+\/w\d/);
    const follow = startCli(['logs', 'slow', '--follow', ...where()], { cwd: repo.dir });
    await vi.waitFor(() => expect(follow.stdout()).toContain('waiting'), { timeout: 30_000, interval: 50 });
    writeFileSync(gate, '');
    expect((await follow.exit).code).toBe(0);
    expect(follow.stdout()).toContain('through');
    expect(follow.stdout()).toMatch(/\[coord\] log: outputBytes=\d+/);
    const redrive = await coord('redrive', 'flaky', ...where());
    expect(redrive.stdout).toContain('the running supervisor picks them up now');
    await vi.waitFor(() => expect(running?.stderr()).toContain('✔ flaky complete'), { timeout: 60_000, interval: 50 });
  });
});

describe('coord clean', () => {
  it('lists what it removes, refuses without --yes off a terminal, and with it leaves no branch, worktree or state behind', async () => {
    repo = makeRepo();
    await runOnce(writeTasks([{ id: 'a', run: ['sh', '-c', 'echo a > a.txt'] }, { id: 'b', run: ['sh', '-c', 'echo b > b.txt'] }]));
    expect(repo.git('for-each-ref', '--format=%(refname:short)', 'refs/heads/coord/')).toBe('coord/a\ncoord/b');
    const asked = await coord('clean', ...where(), '--worktree-root', repo.worktreeRoot);
    expect(asked.code).toBe(2);
    expect(asked.stdout).toContain('2 branches: coord/a, coord/b');
    expect(asked.stdout).toMatch(/2 worktrees: .*w1, .*w2/);
    expect(asked.stderr).toContain('pass --yes');
    expect(repo.git('branch', '--list', 'coord/*')).not.toBe('');
    const cleaned = await coord('clean', '--yes', ...where(), '--worktree-root', repo.worktreeRoot);
    expect(cleaned.code, cleaned.stderr).toBe(0);
    expect(repo.git('for-each-ref', 'refs/heads/coord/')).toBe('');
    expect(repo.git('worktree', 'list', '--porcelain').split('\n').filter((line) => line.startsWith('worktree '))).toEqual([`worktree ${repo.repo}`]);
    expect(existsSync(repo.worktreeRoot)).toBe(false);
    expect(existsSync(repo.stateDir)).toBe(false);
    expect((await coord('clean', '--yes', ...where(), '--worktree-root', repo.worktreeRoot)).stdout).toContain('nothing to clean');
  });
});
