/**
 * What a new user sees after a run goes wrong: why a task failed and where to look, told
 * on the terminal by the real CLI with real workers, PTYs and git.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
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
