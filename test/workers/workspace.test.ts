import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isCoordError } from '../../src/errors.js';
import { finishBranch, prepareBranch } from '../../workers/workspace.js';
import { createTempRepo, git, removeTempRepo, type TempRepo } from './harness.js';

describe('workspace: task branches in the worktree', () => {
  let repo: TempRepo;
  beforeEach(async () => {
    repo = await createTempRepo();
  });
  afterEach(async () => {
    await removeTempRepo(repo);
  });

  it('cleans the worktree (ignored files kept) and switches to the branch at startCommit', async () => {
    const wt = repo.worktree;
    await writeFile(path.join(wt, 'README.md'), 'changed\n');
    await writeFile(path.join(wt, 'stray.txt'), 'untracked\n');
    await writeFile(path.join(wt, 'keep.log'), 'ignored\n');
    await prepareBranch(wt, 'coord/a', repo.head);
    expect(await git(wt, 'symbolic-ref', 'HEAD')).toBe('refs/heads/coord/a');
    expect(await git(wt, 'rev-parse', 'HEAD')).toBe(repo.head);
    expect(await readFile(path.join(wt, 'README.md'), 'utf8')).toBe('# test repo\n');
    expect(existsSync(path.join(wt, 'stray.txt'))).toBe(false);
    expect(existsSync(path.join(wt, 'keep.log'))).toBe(true);
  });

  it('resets an existing branch on a retry and removes a stale index.lock', async () => {
    const wt = repo.worktree;
    await prepareBranch(wt, 'coord/b', repo.head);
    await writeFile(path.join(wt, 'one.txt'), '1');
    const first = await finishBranch(wt, 'coord/b', 'b', 1);
    expect(first).not.toBe(repo.head);
    const gitDir = await git(wt, 'rev-parse', '--absolute-git-dir');
    await writeFile(path.join(gitDir, 'index.lock'), '');
    await prepareBranch(wt, 'coord/b', repo.head);
    expect(await git(wt, 'rev-parse', 'coord/b')).toBe(repo.head);
  });

  it('returns the tip unchanged when nothing is left uncommitted, and leaves HEAD detached', async () => {
    await prepareBranch(repo.worktree, 'coord/c', repo.head);
    expect(await finishBranch(repo.worktree, 'coord/c', 'c', 1)).toBe(repo.head);
    expect(await git(repo.worktree, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('HEAD');
  });

  it('fast-forwards the branch to commits a task made on a detached HEAD', async () => {
    const wt = repo.worktree;
    await prepareBranch(wt, 'coord/d', repo.head);
    await git(wt, 'switch', '--quiet', '--detach');
    await writeFile(path.join(wt, 'detached.txt'), 'x');
    await git(wt, 'add', '-A');
    await git(wt, 'commit', '--quiet', '-m', 'made while detached');
    const detachedTip = await git(wt, 'rev-parse', 'HEAD');
    await writeFile(path.join(wt, 'also.txt'), 'y');
    const tip = await finishBranch(wt, 'coord/d', 'd', 1);
    expect(await git(wt, 'rev-parse', `${tip}^`)).toBe(detachedTip);
    expect(await git(wt, 'rev-parse', 'coord/d')).toBe(tip);
  });

  it('throws a GIT_FAILED CoordError for a start commit that does not exist', async () => {
    const error = await prepareBranch(repo.worktree, 'coord/e', 'e'.repeat(40)).catch((caught: unknown) => caught);
    expect(isCoordError(error) && error.code).toBe('GIT_FAILED');
  });

  describe('with no git identity configured anywhere', () => {
    const saved = { ...process.env };
    beforeEach(async () => {
      await git(repo.repo, 'config', '--unset', 'user.name');
      await git(repo.repo, 'config', '--unset', 'user.email');
      process.env.GIT_CONFIG_GLOBAL = '/dev/null';
      process.env.GIT_CONFIG_NOSYSTEM = '1';
      for (const key of ['GIT_AUTHOR_NAME', 'GIT_AUTHOR_EMAIL', 'GIT_COMMITTER_NAME', 'GIT_COMMITTER_EMAIL', 'EMAIL']) delete process.env[key];
    });
    afterEach(() => {
      process.env = { ...saved };
    });

    it('commits as coord <coord@localhost>', async () => {
      await prepareBranch(repo.worktree, 'coord/f', repo.head);
      await writeFile(path.join(repo.worktree, 'f.txt'), 'f');
      const tip = await finishBranch(repo.worktree, 'coord/f', 'f', 3);
      expect(await git(repo.repo, 'log', '-1', '--format=%an <%ae>|%s', tip)).toBe('coord <coord@localhost>|coord: f attempt 3 (uncommitted changes)');
    });
  });
});
