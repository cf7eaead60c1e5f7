/**
 * Opening the user's repository: what a dirty one is told.
 */
import { renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { changedFiles, openRepository } from '../../src/worktrees/repository.js';
import { makeRepo, type TempRepo } from '../helpers/git-repo.js';

let repo: TempRepo | undefined;
afterEach(() => repo?.cleanup());

describe('openRepository on a dirty repository', () => {
  it('names every changed file whole (the first one included) and says how to go on', async () => {
    repo = makeRepo({ 'README.md': '# test\n', 'src.ts': 'export {};\n', 'old.txt': 'x\n' });
    writeFileSync(path.join(repo.repo, 'README.md'), '# changed\n');
    writeFileSync(path.join(repo.repo, 'new file.txt'), 'untracked\n');
    renameSync(path.join(repo.repo, 'old.txt'), path.join(repo.repo, 'renamed.txt'));
    repo.git('add', '-A', 'old.txt', 'renamed.txt');
    const error = await openRepository(repo.repo).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'REPO_DIRTY' });
    const { files } = (error as { details: { files: string[] } }).details;
    expect(files.sort()).toEqual(['README.md', 'new file.txt', 'renamed.txt']);
    expect((error as Error).message).toContain('(README.md, ');
    expect((error as Error).message).toContain('--allow-dirty');
  });

  it('reads porcelain -z entries, renames with their source', () => {
    expect(changedFiles(' M README.md\0?? a b.txt\0R  new.txt\0old.txt\0')).toEqual(['README.md', 'a b.txt', 'new.txt']);
    expect(changedFiles('')).toEqual([]);
  });
});
