/**
 * The CLI end to end: real forked workers, real worktrees, real PTYs, real git.
 */
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fakeAgent, runCli } from '../helpers/cli.js';
import { makeRepo, type TempRepo } from '../helpers/git-repo.js';
import type { RunSummary, TaskSummary } from '../../src/index.js';

type Summary = RunSummary;
type SummaryTask = TaskSummary;

let repo: TempRepo;
afterEach(() => repo?.cleanup());

function writeTasks(tasks: unknown[], name = 'tasks.json'): string {
  const file = path.join(repo.dir, name);
  writeFileSync(file, JSON.stringify({ tasks }, null, 2));
  return file;
}

async function run(tasksFile: string, extra: string[] = []) {
  const summaryFile = path.join(repo.dir, 'run.json');
  const result = await runCli([
    '--workers', '4', '--repo', repo.repo, '--tasks', tasksFile, '--once', '--summary', summaryFile,
    '--worktree-root', repo.worktreeRoot, '--state-dir', repo.stateDir, ...extra,
  ]);
  const summary = existsSync(summaryFile) ? (JSON.parse(readFileSync(summaryFile, 'utf8')) as Summary) : null;
  const task = (id: string): SummaryTask => {
    const found = summary?.tasks.find((t) => t.id === id);
    if (!found) throw new Error(`task ${id} not in summary; stderr:\n${result.stderr}`);
    return found;
  };
  return { ...result, summary, task };
}

describe('coord --once on a task graph', () => {
  it('runs a diamond in dependency order, each task on its branch, each worker in its own worktree', async () => {
    repo = makeRepo();
    const file = writeTasks([
      { id: 'a', run: fakeAgent('--write', 'a.txt', '--text', 'from a', '--commit', 'a'), priority: 1 },
      { id: 'b', deps: ['a'], run: fakeAgent('--write', 'b.txt', '--text', 'from b', '--commit', 'b', '--sleep', '200') },
      { id: 'c', deps: ['a'], run: fakeAgent('--write', 'c.txt', '--text', 'from c', '--sleep', '200') },
      // d must see the work of b and c (and so of a): the test fails the task otherwise.
      { id: 'd', deps: ['b', 'c'], run: ['sh', '-c', 'test -f a.txt && test -f b.txt && test -f c.txt && echo ok > d.txt'] },
      { id: 'e', run: fakeAgent('--print', 'independent') },
    ]);
    const { code, summary, task, stderr } = await run(file);
    expect(code, stderr).toBe(0);
    expect(summary?.coordinator.state).toBe('stopped');
    for (const id of ['a', 'b', 'c', 'd', 'e']) {
      expect(task(id).status).toBe('complete');
      expect(task(id).branch).toBe(`coord/${id}`);
      expect(task(id).attempts).toBe(1);
      expect(task(id).exitCode).toBe(0);
    }
    const time = (iso: string | null): number => Date.parse(iso ?? '');
    expect(time(task('b').startedAt)).toBeGreaterThanOrEqual(time(task('a').finishedAt));
    expect(time(task('c').startedAt)).toBeGreaterThanOrEqual(time(task('a').finishedAt));
    expect(time(task('d').startedAt)).toBeGreaterThanOrEqual(Math.max(time(task('b').finishedAt), time(task('c').finishedAt)));

    // Every worker has a distinct worktree, registered with git, outside the repository.
    const listed = repo.git('worktree', 'list', '--porcelain');
    const worktrees = summary?.workers.map((w) => w.worktree) ?? [];
    expect(new Set(worktrees).size).toBe(4);
    for (const wt of worktrees) {
      expect(listed).toContain(`worktree ${wt}`);
      expect(wt.startsWith(repo.repo + path.sep)).toBe(false);
    }
    // Each task's work is committed on its own branch; c's uncommitted file was committed for it.
    expect(repo.git('show', 'coord/a:a.txt')).toBe('from a');
    expect(repo.git('show', 'coord/c:c.txt')).toBe('from c');
    expect(repo.git('show', 'coord/d:d.txt')).toBe('ok');
    expect(repo.git('rev-parse', 'coord/b')).toBe(task('b').commit);
    // The main working tree was never touched.
    expect(repo.git('status', '--porcelain')).toBe('');
    expect(existsSync(path.join(repo.repo, 'a.txt'))).toBe(false);
  });

  it('blocks a task whose dependencies edit the same line, naming the file', async () => {
    repo = makeRepo({ 'shared.txt': 'line one\n' });
    const file = writeTasks([
      { id: 'left', run: fakeAgent('--write', 'shared.txt', '--text', 'left says hi', '--commit', 'left') },
      { id: 'right', run: fakeAgent('--write', 'shared.txt', '--text', 'right says hi', '--commit', 'right') },
      { id: 'join', deps: ['left', 'right'], run: ['true'] },
      { id: 'after', deps: ['join'], run: ['true'] },
    ]);
    const { code, task } = await run(file);
    expect(code).toBe(1);
    expect(task('left').status).toBe('complete');
    expect(task('right').status).toBe('complete');
    expect(task('join').status).toBe('blocked');
    expect(task('join').error?.code).toBe('DEP_CONFLICT');
    expect(task('join').error?.message).toContain('shared.txt');
    expect(task('join').error?.details?.files).toEqual(['shared.txt']);
    // It never ran: no attempt counted, no log to point at.
    expect(task('join').attempts).toBe(0);
    expect(task('join').logFile).toBeNull();
    expect(task('after').status).toBe('blocked');
    expect(task('after').logFile).toBeNull();
    expect(task('after').error?.code).toBe('DEP_DEAD');
  });

  it('marks a failing task dead and its dependents blocked, and exits 1', async () => {
    repo = makeRepo();
    const file = writeTasks([
      { id: 'boom', maxAttempts: 1, run: fakeAgent('--print', 'about to fail', '--exit', '3') },
      { id: 'child', deps: ['boom'], run: ['true'] },
      { id: 'grandchild', deps: ['child'], run: ['true'] },
      { id: 'fine', run: ['true'] },
    ]);
    const { code, task } = await run(file);
    expect(code).toBe(1);
    expect(task('boom').status).toBe('dead');
    expect(task('boom').error?.code).toBe('TASK_EXIT_NONZERO');
    expect(task('boom').exitCode).toBe(3);
    expect(task('child').status).toBe('blocked');
    expect(task('grandchild').status).toBe('blocked');
    expect(task('grandchild').error?.code).toBe('DEP_DEAD');
    expect(task('fine').status).toBe('complete');
  });

  it('returns a module task\'s value in the summary', async () => {
    repo = makeRepo({ 'one.txt': '1', 'two.txt': '22' });
    const handler = path.resolve('test/fixtures/demo-stats.mjs');
    const file = writeTasks([{ id: 'count', module: handler, input: { label: 'files' } }]);
    const { code, task } = await run(file);
    expect(code).toBe(0);
    expect(task('count').status).toBe('complete');
    expect(task('count').result).toEqual({ label: 'files', files: 2, bytes: 3 });
  });

  it('rejects a malformed task file with exit 2, the line of the problem, and runs nothing', async () => {
    repo = makeRepo();
    const file = path.join(repo.dir, 'tasks.yaml');
    writeFileSync(file, ['tasks:', '  - id: ok', '    run: [true]', '  - id: bad', '    run: not-a-list', ''].join('\n'));
    const { code, stderr, summary } = await run(file);
    expect(code).toBe(2);
    expect(stderr).toMatch(/tasks\.yaml:5/);
    expect(summary).toBeNull();
    expect(repo.git('worktree', 'list')).not.toContain('worktrees');
    expect(repo.git('branch', '--list', 'coord/*')).toBe('');
  });

  it('rejects a cycle naming it, and an unknown flag, with exit 2', async () => {
    repo = makeRepo();
    const file = writeTasks([
      { id: 'x', deps: ['z'], run: ['true'] },
      { id: 'y', deps: ['x'], run: ['true'] },
      { id: 'z', deps: ['y'], run: ['true'] },
    ]);
    const cycle = await run(file);
    expect(cycle.code).toBe(2);
    expect(cycle.stderr).toContain('TASK_CYCLE');
    expect(cycle.stderr).toMatch(/x -> z -> y -> x|y -> x -> z -> y|z -> y -> x -> z/);
    const flag = await runCli(['--wrokers', '4']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain('--wrokers');
  });
});
