/**
 * The rule that decides whether warm module threads survive a change of start commit: which
 * changed paths can be modules, and the paths git reports between two commits (real git).
 */
import { mkdir, symlink, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { changedPaths, parseRawZ } from '../../src/git/changed-paths.js';
import { mayHoldModule } from '../../workers/run-module.js';
import { createTempRepo, git, removeTempRepo, type TempRepo } from './harness.js';

const file = (p: string): { path: string; oldMode: string; newMode: string } => ({ path: p, oldMode: '100644', newMode: '100644' });

describe('mayHoldModule', () => {
  it.each([
    'a.js', 'lib/a.mjs', 'a.cjs', 'ui/App.jsx', 'src/x.ts', 'x.mts', 'x.cts', 'x.tsx', 'package.json', 'sub/package.json',
    'tsconfig.json', 'data/list.json', 'build/addon.node', 'w/m.wasm', 'UPPER.JS', 'Mixed.Ts', '.babelrc', 'pkg/.swcrc',
    'node_modules/left-pad/README.md', 'a/node_modules/b/LICENSE', '.json',
  ])('%s can be a module', (p) => {
    expect(mayHoldModule(file(p))).toBe(true);
  });

  it.each(['notes.txt', 'README.md', 'data/table.csv', 'img/logo.png', 'LICENSE', '.gitignore', '.npmrc', 'package-lock.json.orig',
    'config.yaml', 'node_modules_backup/x.txt', 'js/readme.txt', 'a.json5'])('%s cannot', (p) => {
    expect(mayHoldModule(file(p))).toBe(false);
  });

  it('counts a symlink or a submodule on either side, whatever its name', () => {
    expect(mayHoldModule({ path: 'current', oldMode: '120000', newMode: '120000' })).toBe(true);
    expect(mayHoldModule({ path: 'notes.txt', oldMode: '100644', newMode: '120000' })).toBe(true);
    expect(mayHoldModule({ path: 'vendor/lib', oldMode: '160000', newMode: '000000' })).toBe(true);
    expect(mayHoldModule({ path: 'run.sh', oldMode: '100644', newMode: '100755' })).toBe(false);
  });
});

describe('parseRawZ', () => {
  it('reads entries, paths with spaces and newlines included, and refuses what it does not understand', () => {
    const id = 'a'.repeat(40);
    const zero = '0'.repeat(40);
    expect(parseRawZ('')).toEqual([]);
    expect(parseRawZ(`:100644 100644 ${id} ${id} M\0notes.txt\0:000000 100644 ${zero} ${id} A\0odd name\nx.md\0`)).toEqual([
      { path: 'notes.txt', oldMode: '100644', newMode: '100644' },
      { path: 'odd name\nx.md', oldMode: '000000', newMode: '100644' },
    ]);
    expect(parseRawZ(':100644 120000 1a2b... 3c4d... T\0link\0')).toEqual([{ path: 'link', oldMode: '100644', newMode: '120000' }]);
    expect(() => parseRawZ('notes.txt\0')).toThrow();
    expect(() => parseRawZ(`:100644 100644 ${id} ${id} M\0`)).toThrow();
  });
});

describe('changedPaths (real git)', () => {
  let repo: TempRepo;
  const commitAll = async (): Promise<string> => {
    await git(repo.repo, 'add', '-A');
    await git(repo.repo, 'commit', '--quiet', '-m', 'change');
    return git(repo.repo, 'rev-parse', 'HEAD');
  };
  beforeEach(async () => {
    repo = await createTempRepo();
  });
  afterEach(async () => {
    await removeTempRepo(repo);
  });

  it('lists every changed path with its modes, a rename as a deletion and an addition, from the worktree', async () => {
    await mkdir(path.join(repo.repo, 'v1'));
    await mkdir(path.join(repo.repo, 'v2'));
    await writeFile(path.join(repo.repo, 'v1', 'x.mjs'), 'export default 1;\n');
    await writeFile(path.join(repo.repo, 'v2', 'x.mjs'), 'export default 2;\n');
    await symlink('v1', path.join(repo.repo, 'current'));
    const a = await commitAll();
    await rm(path.join(repo.repo, 'current'));
    await symlink('v2', path.join(repo.repo, 'current'));
    await git(repo.repo, 'mv', 'README.md', 'READ ME.md');
    const b = await commitAll();
    const changed = await changedPaths(repo.worktree, a, b);
    expect(changed.sort((x, y) => x.path.localeCompare(y.path))).toEqual([
      { path: 'current', oldMode: '120000', newMode: '120000' },
      { path: 'READ ME.md', oldMode: '000000', newMode: '100644' },
      { path: 'README.md', oldMode: '100644', newMode: '000000' },
    ]);
    expect(changed.some(mayHoldModule)).toBe(true); // the symlink
    expect(await changedPaths(repo.worktree, b, b)).toEqual([]);
  });

  it('rejects when a commit is unknown', async () => {
    await expect(changedPaths(repo.worktree, repo.head, 'f'.repeat(40))).rejects.toThrow(/git diff/);
  });
});
