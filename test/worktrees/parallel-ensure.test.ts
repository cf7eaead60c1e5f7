/**
 * Several workers' worktrees made at once on a real repository: each one ends up as `git
 * worktree add` would leave it (index written, files checked out, HEAD detached at the base
 * commit, nothing to commit, the post-checkout hook run), and their checkouts really do run
 * at the same time.
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { thisProcess } from '../../src/locks/file-lock.js';
import { openRepository } from '../../src/worktrees/repository.js';
import { WorktreeManager } from '../../src/worktrees/worktrees.js';
import { makeRepo, type TempRepo } from '../helpers/git-repo.js';

const WORKERS = ['w1', 'w2', 'w3', 'w4'];

let repo: TempRepo | undefined;
let manager: WorktreeManager | undefined;
afterEach(async () => {
  await manager?.releaseAll();
  manager = undefined;
  repo?.cleanup();
  repo = undefined;
});

async function managerOf(r: TempRepo): Promise<WorktreeManager> {
  manager = new WorktreeManager(await openRepository(r.repo), r.worktreeRoot, thisProcess('test-node', `the state directory ${r.stateDir}`));
  return manager;
}

describe('WorktreeManager.ensure, several workers at once', () => {
  it('gives each a complete, clean checkout detached at the base commit, locked in git\'s name of its owner', async () => {
    const r = (repo = makeRepo({ 'README.md': '# test\n', '.gitignore': '*.log\n', 'run.sh': '#!/bin/sh\necho hi\n' }));
    mkdirSync(path.join(r.repo, 'src', 'deep'), { recursive: true });
    for (let i = 0; i < 50; i += 1) writeFileSync(path.join(r.repo, 'src', 'deep', `f${i}.ts`), `export const v = ${i};\n`);
    chmodSync(path.join(r.repo, 'run.sh'), 0o755);
    r.git('add', '-A');
    r.git('commit', '--quiet', '-m', 'files');
    const base = r.git('rev-parse', 'HEAD');
    const hookLog = path.join(r.dir, 'post-checkout.log');
    // The hook `git worktree add` runs in a new worktree: arguments null, commit, 1.
    writeFileSync(path.join(r.repo, '.git', 'hooks', 'post-checkout'), `#!/bin/sh\necho "$(basename "$PWD") $1 $2 $3" >> '${hookLog}'\n`, { mode: 0o755 });
    const worktrees = await managerOf(r);

    const ensured = await Promise.all(WORKERS.map((id) => worktrees.ensure(id)));

    expect(ensured).toEqual(WORKERS.map((id) => ({ path: path.join(r.worktreeRoot, id), repaired: null })));
    const index = r.git('ls-files', '--stage');
    for (const { path: wt } of ensured) {
      const git = (...args: string[]): string => r.git('-C', wt, ...args);
      expect(git('status', '--porcelain', '--untracked-files=all')).toBe('');
      expect(git('rev-parse', 'HEAD')).toBe(base);
      expect(() => git('symbolic-ref', '--quiet', 'HEAD')).toThrow();
      expect(git('ls-files', '--stage')).toBe(index);
      expect(readFileSync(path.join(wt, 'src', 'deep', 'f49.ts'), 'utf8')).toBe('export const v = 49;\n');
    }
    const hookRuns = readFileSync(hookLog, 'utf8').trim().split('\n').sort();
    expect(hookRuns).toEqual(WORKERS.map((id) => `${id} ${'0'.repeat(40)} ${base} 1`));
    const list = r.git('worktree', 'list', '--porcelain');
    expect(list.match(/^locked coord supervisor pid \d+ node test-node on .+$/gm)).toHaveLength(WORKERS.length);
  });

  it('checks the worktrees out at the same time: each checkout waits in a smudge filter until all four have begun', async () => {
    const r = (repo = makeRepo({ 'README.md': '# test\n', '.gitattributes': 'rendezvous.txt filter=rendezvous\n', 'rendezvous.txt': 'meet\n' }));
    const marks = path.join(r.dir, 'marks');
    mkdirSync(marks);
    // One at a time, the first checkout would wait here for the others forever: it gives up
    // after 400 polls and fails its checkout instead.
    r.git('config', 'filter.rendezvous.smudge',
      `touch '${marks}'/"$(basename "$PWD")"; n=0; until set -- '${marks}'/*; [ $# -ge ${WORKERS.length} ]; do n=$((n+1)); [ $n -gt 400 ] && exit 1; sleep 0.05; done; cat`);
    const worktrees = await managerOf(r);

    const ensured = await Promise.all(WORKERS.map((id) => worktrees.ensure(id)));

    for (const { path: wt } of ensured) {
      expect(readFileSync(path.join(wt, 'rendezvous.txt'), 'utf8')).toBe('meet\n');
      expect(r.git('-C', wt, 'status', '--porcelain')).toBe('');
    }
  });

  it('readies one worker asked for twice at once once, without refusing itself its own lock', async () => {
    const r = (repo = makeRepo());
    const worktrees = await managerOf(r);
    const [first, second] = await Promise.all([worktrees.ensure('w1'), worktrees.ensure('w1')]);
    expect(first).toEqual({ path: path.join(r.worktreeRoot, 'w1'), repaired: null });
    expect(second).toEqual(first);
    expect(r.git('-C', first.path, 'status', '--porcelain')).toBe('');
  });
});
