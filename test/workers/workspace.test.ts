import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isCoordError } from '../../src/errors.js';
import { parseStatus, Workspace } from '../../workers/workspace.js';
import { createTempRepo, git, removeTempRepo, type TempRepo } from './harness.js';

describe('workspace: task branches in the worktree', () => {
  let repo: TempRepo;
  let workspace: Workspace;
  beforeEach(async () => {
    repo = await createTempRepo();
    workspace = new Workspace(repo.worktree);
  });
  afterEach(async () => {
    await removeTempRepo(repo);
  });

  it('cleans the worktree (ignored files kept) and switches to the branch at startCommit', async () => {
    const wt = repo.worktree;
    await writeFile(path.join(wt, 'README.md'), 'changed\n');
    await writeFile(path.join(wt, 'stray.txt'), 'untracked\n');
    await writeFile(path.join(wt, 'keep.log'), 'ignored\n');
    await workspace.prepare('coord/a', repo.head);
    expect(await git(wt, 'symbolic-ref', 'HEAD')).toBe('refs/heads/coord/a');
    expect(await git(wt, 'rev-parse', 'HEAD')).toBe(repo.head);
    expect(await readFile(path.join(wt, 'README.md'), 'utf8')).toBe('# test repo\n');
    expect(existsSync(path.join(wt, 'stray.txt'))).toBe(false);
    expect(existsSync(path.join(wt, 'keep.log'))).toBe(true);
  });

  it('resets an existing branch on a retry and removes a stale index.lock', async () => {
    const wt = repo.worktree;
    await workspace.prepare('coord/b', repo.head);
    await writeFile(path.join(wt, 'one.txt'), '1');
    const first = (await workspace.finish('coord/b', 'b', 1)).tip;
    expect(first).not.toBe(repo.head);
    const gitDir = await git(wt, 'rev-parse', '--absolute-git-dir');
    await writeFile(path.join(gitDir, 'index.lock'), '');
    await workspace.prepare('coord/b', repo.head);
    expect(await git(wt, 'rev-parse', 'coord/b')).toBe(repo.head);
  });

  it('goes on after a worker killed while writing HEAD or the branch left their locks, on the fast path and the checkout', async () => {
    const wt = repo.worktree;
    await workspace.prepare('coord/k', repo.head);
    await workspace.finish('coord/k', 'k', 1); // clean at repo.head: the next prepare writes the files itself
    const gitDir = await git(wt, 'rev-parse', '--absolute-git-dir');
    const common = await git(wt, 'rev-parse', '--path-format=absolute', '--git-common-dir');
    await writeFile(path.join(gitDir, 'HEAD.lock'), '');
    await mkdir(path.join(common, 'refs', 'heads', 'coord'), { recursive: true });
    await writeFile(path.join(common, 'refs', 'heads', 'coord', 'k.lock'), '');
    const next = new Workspace(wt); // a new worker process: nothing known, so a checkout
    await next.prepare('coord/k', repo.head);
    expect(await git(wt, 'symbolic-ref', 'HEAD')).toBe('refs/heads/coord/k');
    await next.finish('coord/k', 'k', 2);
    await writeFile(path.join(gitDir, 'HEAD.lock'), '');
    await writeFile(path.join(common, 'refs', 'heads', 'coord', 'k.lock'), '');
    await next.prepare('coord/k', repo.head); // known clean: the ref and HEAD files written directly
    expect(await git(wt, 'symbolic-ref', 'HEAD')).toBe('refs/heads/coord/k');
    expect(existsSync(path.join(common, 'refs', 'heads', 'coord', 'k.lock'))).toBe(false);
  });

  it('returns the tip unchanged when nothing is left uncommitted, and leaves HEAD detached', async () => {
    await workspace.prepare('coord/c', repo.head);
    expect((await workspace.finish('coord/c', 'c', 1)).tip).toBe(repo.head);
    expect(await git(repo.worktree, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('HEAD');
  });

  it('reports commits the task made on its branch, plus what it left uncommitted', async () => {
    const wt = repo.worktree;
    await workspace.prepare('coord/g', repo.head);
    await writeFile(path.join(wt, 'committed.txt'), 'x');
    await git(wt, 'add', '-A');
    await git(wt, 'commit', '--quiet', '-m', 'made by the task');
    const taskTip = await git(wt, 'rev-parse', 'HEAD');
    expect((await workspace.finish('coord/g', 'g', 1)).tip).toBe(taskTip);
    await workspace.prepare('coord/h', repo.head);
    await writeFile(path.join(wt, 'left.txt'), 'y');
    const tip = (await workspace.finish('coord/h', 'h', 2)).tip;
    expect(await git(wt, 'rev-parse', `${tip}^`)).toBe(repo.head);
    expect(await git(wt, 'rev-parse', 'coord/h')).toBe(tip);
    expect(await git(wt, 'status', '--porcelain', '--untracked-files=all')).toBe('');
  });

  it('fast-forwards the branch to commits a task made on a detached HEAD', async () => {
    const wt = repo.worktree;
    await workspace.prepare('coord/d', repo.head);
    await git(wt, 'switch', '--quiet', '--detach');
    await writeFile(path.join(wt, 'detached.txt'), 'x');
    await git(wt, 'add', '-A');
    await git(wt, 'commit', '--quiet', '-m', 'made while detached');
    const detachedTip = await git(wt, 'rev-parse', 'HEAD');
    await writeFile(path.join(wt, 'also.txt'), 'y');
    const tip = (await workspace.finish('coord/d', 'd', 1)).tip;
    expect(await git(wt, 'rev-parse', `${tip}^`)).toBe(detachedTip);
    expect(await git(wt, 'rev-parse', 'coord/d')).toBe(tip);
  });

  it('throws a GIT_FAILED CoordError for a start commit that does not exist', async () => {
    const error = await workspace.prepare('coord/e', 'e'.repeat(40)).catch((caught: unknown) => caught);
    expect(isCoordError(error) && error.code).toBe('GIT_FAILED');
  });

  describe('the clean skipped after a clean finish at the same commit', () => {
    it('still cleans what an interrupted attempt left after a known-clean prepare', async () => {
      const wt = repo.worktree;
      await workspace.prepare('coord/k1', repo.head);
      (await workspace.finish('coord/k1', 'k1', 1)).tip; // clean at repo.head: the next prepare may skip `clean`
      await workspace.prepare('coord/k2', repo.head);
      // The attempt is interrupted (the task is killed, the finish never happens) after
      // writing files: the next prepare must not trust the earlier finish.
      await writeFile(path.join(wt, 'stray.txt'), 'left by k2\n');
      await writeFile(path.join(wt, 'README.md'), 'changed by k2\n');
      await workspace.prepare('coord/k3', repo.head);
      expect(existsSync(path.join(wt, 'stray.txt'))).toBe(false);
      expect(await readFile(path.join(wt, 'README.md'), 'utf8')).toBe('# test repo\n');
      expect((await workspace.finish('coord/k3', 'k3', 1)).tip).toBe(repo.head);
    });

    it('cleans after a worker restart (a new Workspace) even when the last finish was clean', async () => {
      const wt = repo.worktree;
      await workspace.prepare('coord/r1', repo.head);
      (await workspace.finish('coord/r1', 'r1', 1)).tip;
      await writeFile(path.join(wt, 'stray.txt'), 'left by a crashed attempt\n');
      await new Workspace(wt).prepare('coord/r2', repo.head);
      expect(existsSync(path.join(wt, 'stray.txt'))).toBe(false);
    });

    it('cleans after a finish that failed', async () => {
      const wt = repo.worktree;
      await workspace.prepare('coord/f1', repo.head);
      // A lock on the branch's ref, which the commit cannot get past.
      const commonDir = path.resolve(wt, await git(wt, 'rev-parse', '--git-common-dir'));
      await writeFile(path.join(commonDir, 'refs', 'heads', 'coord', 'f1.lock'), '');
      await writeFile(path.join(wt, 'stray.txt'), 'x');
      const error = await workspace.finish('coord/f1', 'f1', 1).catch((caught: unknown) => caught);
      expect(isCoordError(error) && error.code).toBe('GIT_FAILED');
      await workspace.prepare('coord/f2', repo.head);
      expect(existsSync(path.join(wt, 'stray.txt'))).toBe(false);
    });

    it('cleans when the start commit differs from where the worktree was left, since ignore rules may differ', async () => {
      const wt = repo.worktree;
      await workspace.prepare('coord/i1', repo.head);
      // The task ignores tmp/ in a commit of its own and leaves a file there: status is clean.
      await writeFile(path.join(wt, '.gitignore'), '*.log\ntmp/\n');
      await git(wt, 'commit', '--quiet', '-am', 'ignore tmp/');
      await mkdir(path.join(wt, 'tmp'));
      await writeFile(path.join(wt, 'tmp', 'scratch.txt'), 'x');
      (await workspace.finish('coord/i1', 'i1', 1)).tip;
      // At repo.head tmp/ is not ignored: without the clean, i2's finish would commit it.
      await workspace.prepare('coord/i2', repo.head);
      expect(existsSync(path.join(wt, 'tmp', 'scratch.txt'))).toBe(false);
      expect((await workspace.finish('coord/i2', 'i2', 1)).tip).toBe(repo.head);
    });
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
      await workspace.prepare('coord/f', repo.head);
      await writeFile(path.join(repo.worktree, 'f.txt'), 'f');
      const tip = (await workspace.finish('coord/f', 'f', 3)).tip;
      expect(await git(repo.repo, 'log', '-1', '--format=%an <%ae>|%s', tip)).toBe('coord <coord@localhost>|coord: f attempt 3 (uncommitted changes)');
    });
  });
});

describe('parseStatus: git status --porcelain=v2 --branch', () => {
  it('reads the commit and branch from the headers, and any other line as something to commit', () => {
    expect(parseStatus('# branch.oid abc123\n# branch.head coord/a')).toEqual({ head: 'abc123', branch: 'coord/a', dirty: false });
    expect(parseStatus('# branch.oid abc123\n# branch.head (detached)\n? new.txt')).toEqual({ head: 'abc123', branch: null, dirty: true });
    expect(parseStatus('# branch.oid abc123\n# branch.head coord/a\n1 .M N... 100644 100644 100644 aaa bbb README.md').dirty).toBe(true);
  });
});
