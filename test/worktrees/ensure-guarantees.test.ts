/**
 * What WorktreeManager.ensure refuses and repairs, on real repositories: a folder at a
 * worker's path that is not one of this repository's worktrees is left alone and refused,
 * a worktree another owner holds is refused with WORKTREE_LOCKED, and a worktree of ours a
 * task broke is rebuilt and reported.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { thisProcess } from '../../src/locks/file-lock.js';
import { openRepository } from '../../src/worktrees/repository.js';
import { WorktreeManager } from '../../src/worktrees/worktrees.js';
import { makeRepo, type TempRepo } from '../helpers/git-repo.js';

const repos: TempRepo[] = [];
const managers: WorktreeManager[] = [];
afterEach(async () => {
  for (const manager of managers.splice(0)) await manager.releaseAll();
  for (const repo of repos.splice(0)) repo.cleanup();
});

function tempRepo(files?: Record<string, string>): TempRepo {
  const repo = makeRepo(files);
  repos.push(repo);
  return repo;
}

async function managerOf(r: TempRepo, nodeId = 'test-node'): Promise<WorktreeManager> {
  const manager = new WorktreeManager(await openRepository(r.repo), r.worktreeRoot, thisProcess(nodeId, `the state directory ${r.stateDir}`));
  managers.push(manager);
  return manager;
}

describe('WorktreeManager.ensure refuses what is not its own', () => {
  it('leaves a plain folder at the worker\'s path alone', async () => {
    const r = tempRepo();
    const folder = path.join(r.worktreeRoot, 'w1');
    mkdirSync(folder, { recursive: true });
    writeFileSync(path.join(folder, 'precious.txt'), 'keep me\n');
    await expect((await managerOf(r)).ensure('w1')).rejects.toMatchObject({ code: 'WORKTREE_FAILED', message: expect.stringContaining('is not a worktree of') });
    expect(readFileSync(path.join(folder, 'precious.txt'), 'utf8')).toBe('keep me\n');
  });

  it('leaves a worktree of another repository alone', async () => {
    const r = tempRepo();
    const other = tempRepo();
    const folder = path.join(r.worktreeRoot, 'w1');
    other.git('worktree', 'add', '--quiet', '--detach', folder, 'HEAD');
    await expect((await managerOf(r)).ensure('w1')).rejects.toMatchObject({ code: 'WORKTREE_FAILED' });
    expect(other.git('-C', folder, 'status', '--porcelain')).toBe('');
  });

  it('refuses a worktree another owner holds with WORKTREE_LOCKED', async () => {
    const r = tempRepo();
    await (await managerOf(r, 'first-node')).ensure('w1');
    await expect((await managerOf(r, 'second-node')).ensure('w1')).rejects.toMatchObject({ code: 'WORKTREE_LOCKED' });
  });
});

describe('WorktreeManager.ensure rebuilds a worktree of its own a task broke', () => {
  it.each([
    ['its .git file deleted', 'no-git-file', (wt: string) => rmSync(path.join(wt, '.git'))],
    ['its index deleted', 'no-index', (wt: string) => rmSync(execFileSync('git', ['rev-parse', '--git-path', 'index'], { cwd: wt, encoding: 'utf8' }).trim())],
  ])('with %s: rebuilt clean and reported as %s', async (_what, found, breakIt) => {
    const r = tempRepo({ 'README.md': '# test\n', 'a.txt': 'a\n' });
    const first = await managerOf(r);
    const { path: wt } = await first.ensure('w1');
    await first.releaseAll();
    writeFileSync(path.join(wt, 'a.txt'), 'changed\n');
    breakIt(wt);

    const ensured = await (await managerOf(r)).ensure('w1');

    expect(ensured).toEqual({ path: wt, repaired: found });
    expect(r.git('-C', wt, 'status', '--porcelain', '--untracked-files=all')).toBe('');
    expect(readFileSync(path.join(wt, 'a.txt'), 'utf8')).toBe('a\n');
    expect(existsSync(path.join(wt, 'README.md'))).toBe(true);
  });
});
