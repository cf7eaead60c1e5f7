/**
 * Reading `git worktree list --porcelain` and `git status --porcelain` for the merge target.
 */
import { describe, expect, it } from 'vitest';
import { changedFiles, checkoutOf } from '../../src/merge/target.js';

const porcelain = [
  'worktree /repo', 'HEAD 1111111111111111111111111111111111111111', 'branch refs/heads/feature', '',
  'worktree /repo/.wt/main', 'HEAD 2222222222222222222222222222222222222222', 'branch refs/heads/main', '',
  'worktree /state/merge/worktree', 'HEAD 3333333333333333333333333333333333333333', 'detached', '',
  'worktree /gone', 'HEAD 4444444444444444444444444444444444444444', 'branch refs/heads/old', 'prunable gitdir file points to non-existent location', '',
].join('\n');

describe('checkoutOf', () => {
  it('finds the worktree that has the branch checked out', () => {
    expect(checkoutOf(porcelain, 'refs/heads/main')).toBe('/repo/.wt/main');
    expect(checkoutOf(porcelain, 'refs/heads/feature')).toBe('/repo');
  });

  it('is null for a branch checked out nowhere, a prefix of one, or only in a worktree whose folder is gone', () => {
    expect(checkoutOf(porcelain, 'refs/heads/release')).toBeNull();
    expect(checkoutOf(porcelain, 'refs/heads/mai')).toBeNull();
    expect(checkoutOf(porcelain, 'refs/heads/old')).toBeNull();
  });
});

describe('changedFiles', () => {
  it('reads the paths of status lines', () => {
    expect(changedFiles(' M a.txt\nM  b/c.txt\n')).toEqual(['a.txt', 'b/c.txt']);
    expect(changedFiles('')).toEqual([]);
  });
});
