/**
 * A worktree whose checkout was cut short (coord killed while making it) is not taken for a
 * healthy one: it has no index, since git writes the index only once every file is out, and
 * the next start rebuilds it. The interruption is real: a smudge filter kills the git
 * process checking the files out, half-way through.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { thisProcess } from '../../src/locks/file-lock.js';
import { openRepository } from '../../src/worktrees/repository.js';
import { worktreeHealth } from '../../src/worktrees/worktree-health.js';
import { WorktreeManager } from '../../src/worktrees/worktrees.js';
import { makeRepo, type TempRepo } from '../helpers/git-repo.js';

let repo: TempRepo | undefined;
const managers: WorktreeManager[] = [];
afterEach(async () => {
  for (const manager of managers.splice(0)) await manager.releaseAll();
  repo?.cleanup();
  repo = undefined;
});

async function managerOf(r: TempRepo): Promise<WorktreeManager> {
  const manager = new WorktreeManager(await openRepository(r.repo), r.worktreeRoot, thisProcess('test-node', `the state directory ${r.stateDir}`));
  managers.push(manager);
  return manager;
}

describe('an interrupted checkout', () => {
  it('is reported as no-index: a registered worktree with nothing checked out yet', async () => {
    const r = (repo = makeRepo());
    const wt = path.join(r.worktreeRoot, 'w1');
    r.git('worktree', 'add', '--quiet', '--no-checkout', '--detach', wt, 'HEAD');
    expect(await worktreeHealth(wt)).toBe('no-index');
    r.git('-C', wt, 'reset', '--hard', '--quiet');
    expect(await worktreeHealth(wt)).toBe('ok');
  });

  it('is rebuilt on the next start, complete and clean, and reported as repaired', async () => {
    const r = (repo = makeRepo({ 'a.txt': 'a\n', 'b.txt': 'b\n', '.gitattributes': 'a.txt filter=plain\nz.txt filter=killer\n', 'z.txt': 'z\n' }));
    const base = r.git('rev-parse', 'HEAD');
    const wt = path.join(r.worktreeRoot, 'w1');
    // Files with a filter are written at once, in index order (parallel checkout defers the
    // others): a.txt is written, then git dies on z.txt.
    r.git('config', 'filter.plain.smudge', 'cat');
    r.git('config', 'filter.killer.smudge', 'kill -9 $PPID');
    const first = await managerOf(r);
    await expect(first.ensure('w1')).rejects.toMatchObject({ code: 'WORKTREE_FAILED' });
    await first.releaseAll();
    expect(existsSync(path.join(wt, 'a.txt'))).toBe(true);
    expect(existsSync(path.join(wt, 'z.txt'))).toBe(false);
    expect(await worktreeHealth(wt)).toBe('no-index');

    r.git('config', '--unset', 'filter.killer.smudge');
    const ensured = await (await managerOf(r)).ensure('w1');

    expect(ensured).toEqual({ path: wt, repaired: 'no-index' });
    expect(await worktreeHealth(wt)).toBe('ok');
    expect(r.git('-C', wt, 'status', '--porcelain', '--untracked-files=all')).toBe('');
    expect(r.git('-C', wt, 'rev-parse', 'HEAD')).toBe(base);
    expect(existsSync(path.join(wt, 'z.txt'))).toBe(true);
  });
});
