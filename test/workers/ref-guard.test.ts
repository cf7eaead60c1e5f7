/**
 * Reading what a worktree's HEAD did during an attempt from its reflog (pure).
 */
import { describe, expect, it } from 'vitest';
import { describeMoved, parseHeadActivity } from '../../workers/ref-guard.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);

describe('parseHeadActivity', () => {
  it('collects the commits HEAD held and the branches it had checked out', () => {
    const text = [
      `${A} ${B} coord <coord@localhost> 1700000000 +0000\tcheckout: moving from coord/x to main`,
      `${B} ${C} Someone <s@x> 1700000001 +0000\tcommit: stolen`,
      '',
    ].join('\n');
    const activity = parseHeadActivity(text);
    expect([...activity.commits].sort()).toEqual([B, C]);
    expect([...activity.branches].sort()).toEqual(['refs/heads/coord/x', 'refs/heads/main']);
  });

  it('ignores garbage and an empty log', () => {
    expect(parseHeadActivity('not a reflog line\n\n')).toEqual({ commits: new Set(), branches: new Set() });
  });
});

describe('describeMoved', () => {
  it('names each ref, its move and whether it was put back', () => {
    expect(describeMoved([{ ref: 'refs/heads/main', from: A, to: B, restored: true }, { ref: 'refs/tags/v1', from: A, to: null, restored: false }]))
      .toBe('refs/heads/main (aaaaaaa → bbbbbbb, restored), refs/tags/v1 (aaaaaaa → deleted, NOT restored: it moved again since)');
  });
});
