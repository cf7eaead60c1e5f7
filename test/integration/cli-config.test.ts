/**
 * The CLI with a config file: the repository's coord.yaml is used, COORD_* variables and
 * flags override it, the sections it cannot enforce yet are said to be so, and a bad file
 * stops the run before anything starts.
 */
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { makeRepo, type TempRepo } from '../helpers/git-repo.js';

let repo: TempRepo;
afterEach(() => repo?.cleanup());

const COORD_YAML = ['# settings for this repository', 'workers: 1', 'stateDir: ../state-from-file', 'worktreeRoot: ../trees-from-file', 'pools: [{id: default, workers: 1}]', ''].join('\n');

function writeTasks(): string {
  const file = path.join(repo.dir, 'tasks.json');
  writeFileSync(file, JSON.stringify({ tasks: [{ id: 'hello', run: ['sh', '-c', 'echo hi > hello.txt'] }] }));
  return file;
}

describe('coord with a config file', () => {
  it("uses the repository's coord.yaml (paths relative to it) and warns once about the worker count its pools replace", async () => {
    repo = makeRepo({ 'README.md': '# test\n', 'coord.yaml': COORD_YAML });
    const { code, stderr } = await runCli(['--repo', repo.repo, '--tasks', writeTasks(), '--once'], { cwd: repo.dir });
    expect(code, stderr).toBe(0);
    expect(stderr).toContain(`coord: state ${path.join(repo.dir, 'state-from-file')}`);
    expect(stderr).toContain(`worktrees ${path.join(repo.dir, 'trees-from-file')}`);
    const warning = 'coord: repo/coord.yaml: pools are declared, so the worker count given (1) is not used: each pool has its own';
    expect(stderr.split('\n').filter((line) => line === warning)).toHaveLength(1);
  });

  it('COORD_STATE_DIR overrides the file, and --state-dir overrides both', async () => {
    repo = makeRepo({ 'README.md': '# test\n', 'coord.yaml': COORD_YAML });
    const fromEnv = await runCli(['--repo', repo.repo, '--tasks', writeTasks(), '--once'], { cwd: repo.dir, env: { COORD_STATE_DIR: 'state-from-env' } });
    expect(fromEnv.code, fromEnv.stderr).toBe(0);
    expect(fromEnv.stderr).toContain(`coord: state ${path.join(repo.dir, 'state-from-env')}`);
    const fromFlag = await runCli(['--repo', repo.repo, '--tasks', writeTasks(), '--once', '--state-dir', 'state-from-flag', '--fresh'], {
      cwd: repo.dir, env: { COORD_STATE_DIR: 'state-from-env' },
    });
    expect(fromFlag.code, fromFlag.stderr).toBe(0);
    expect(fromFlag.stderr).toContain(`coord: state ${path.join(repo.dir, 'state-from-flag')}`);
  });

  it('a bad config file exits 2 with its line and column, before anything starts', async () => {
    repo = makeRepo();
    writeFileSync(path.join(repo.dir, 'bad.yaml'), 'workers: 2\nstateDir: ../never\nbreaker:\n  failureThreshold: 0\n');
    const { code, stderr } = await runCli(['--repo', repo.repo, '--config', 'bad.yaml', '--tasks', writeTasks(), '--once'], { cwd: repo.dir });
    expect(code).toBe(2);
    expect(stderr).toContain('coord: CONFIG_INVALID: bad.yaml:4:21: breaker.failureThreshold: must be an integer of at least 1');
    expect(existsSync(path.join(repo.dir, 'never'))).toBe(false);
  });
});
