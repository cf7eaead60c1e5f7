/**
 * Tasks that need no workspace (`workspace: none`), with real forked workers and real git:
 * no branch is made and nothing is committed, their module handlers stay on warm threads,
 * what they leave in the worktree is cleaned away before the next task that has a
 * workspace (never committed to its branch), and a dependent of one starts from the base.
 */
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { supervisorFixture } from '../helpers/supervisor.js';

const fixture = supervisorFixture();

const COUNTER = path.join(ROOT, 'test', 'fixtures', 'handlers', 'counter.mjs');

describe('workspace: none', () => {
  it('runs without a checkout or a commit, on warm threads, and leaves nothing in the next branch', async () => {
    const repo = fixture.repo();
    const supervisor = fixture.create({ workers: 1, moduleThreads: 1 });
    await supervisor.start();
    await supervisor.submit([
      { id: 'count-1', module: COUNTER, workspace: 'none' },
      { id: 'count-2', module: COUNTER, workspace: 'none', deps: ['count-1'] },
      { id: 'count-3', module: COUNTER, workspace: 'none', deps: ['count-2'] },
      { id: 'litter', run: ['sh', '-c', 'echo stray > stray.txt; pwd > where.txt'], workspace: 'none', deps: ['count-3'] },
      { id: 'after', run: ['sh', '-c', 'echo mine > mine.txt'], deps: ['litter'] },
    ]);
    await supervisor.settled();
    const { tasks } = await supervisor.summary();
    const byId = new Map(tasks.map((t) => [t.id, t]));
    expect(tasks.map((t) => [t.id, t.status])).toEqual([['count-1', 'complete'], ['count-2', 'complete'], ['count-3', 'complete'], ['litter', 'complete'], ['after', 'complete']]);
    // One thread, loaded once: the module's own count goes on.
    expect(['count-1', 'count-2', 'count-3'].map((id) => byId.get(id)?.result)).toEqual([{ calls: 1 }, { calls: 2 }, { calls: 3 }]);
    for (const id of ['count-1', 'count-2', 'count-3', 'litter']) {
      expect(byId.get(id)?.commit, id).toBeNull();
      expect(repo.git('branch', '--list', `coord/${id}`), id).toBe('');
    }
    // The next task with a workspace starts from the base (its dependency added nothing) and
    // commits only its own file: the stray one was cleaned away first.
    const after = byId.get('after');
    const base = repo.git('rev-parse', 'main');
    expect(repo.git('rev-parse', `${after?.commit}^`)).toBe(base);
    expect(repo.git('diff', '--name-only', base, after?.commit ?? '').split('\n')).toEqual(['mine.txt']);
    expect(existsSync(path.join(repo.worktreeRoot, 'w1', 'stray.txt'))).toBe(false);
  }, 60_000);

  it('a task with a workspace after a module task on the same commit still gets a fresh thread when a module changed', async () => {
    const repo = fixture.repo();
    writeFileSync(path.join(repo.repo, 'x.txt'), 'x\n');
    const supervisor = fixture.create({ workers: 1, moduleThreads: 1, allowDirty: true });
    await supervisor.start();
    await supervisor.submit([
      { id: 'none-1', module: COUNTER, workspace: 'none' },
      { id: 'change', run: ['sh', '-c', 'echo "export default 1;" > y.mjs'], deps: ['none-1'] },
      { id: 'worktree-1', module: COUNTER, deps: ['change'] },
    ]);
    await supervisor.settled();
    const { tasks } = await supervisor.summary();
    expect(tasks.map((t) => [t.id, t.status])).toEqual([['none-1', 'complete'], ['change', 'complete'], ['worktree-1', 'complete']]);
    // worktree-1 starts from change's commit, a new one with a new module: its handler is loaded afresh.
    expect(tasks.find((t) => t.id === 'worktree-1')?.result).toEqual({ calls: 1 });
  }, 60_000);
});
