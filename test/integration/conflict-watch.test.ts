/**
 * Conflict watching on a real repository: two linked worktrees with uncommitted edits, the
 * target moving under them, and the worktrees left exactly as they were (index bytes,
 * status, files) by the snapshots.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConflictWatcher, snapshotWorktree, type LiveBranch } from '../../src/coordination/conflict-watch.js';
import { makeRepo, type TempRepo } from '../helpers/git-repo.js';

const SHARED = 'lib/shared.ts';
const SHARED_TEXT = 'export const one = 1;\nexport const two = 2;\nexport const three = 3;\n';

let repo: TempRepo | undefined;
afterEach(() => repo?.cleanup());

interface Setup {
  repo: TempRepo;
  start: string;
  worktree(name: string): string;
  git(cwd: string, ...args: string[]): string;
  edit(name: string, file: string, text: string): void;
  live(...names: string[]): LiveBranch[];
  watcher(target?: string | null): { watcher: ConflictWatcher; tick(ms?: number): number };
}

/** A repository with `lib/shared.ts` and `lib/other.ts` on main, and linked worktrees for tasks a and b. */
function setup(): Setup {
  repo = makeRepo({ 'README.md': '# test\n', '.gitignore': 'build/\n' });
  const r = repo;
  mkdirSync(path.join(r.repo, 'lib'));
  writeFileSync(path.join(r.repo, SHARED), SHARED_TEXT);
  writeFileSync(path.join(r.repo, 'lib/other.ts'), 'export const other = 0;\n');
  r.git('add', '-A');
  r.git('commit', '--quiet', '-m', 'lib');
  const start = r.git('rev-parse', 'HEAD');
  const git = (cwd: string, ...args: string[]): string => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();
  const worktree = (name: string): string => path.join(r.worktreeRoot, name);
  for (const name of ['a', 'b']) r.git('worktree', 'add', '--quiet', '-b', `coord/${name}`, worktree(name), 'main');
  return {
    repo: r,
    start,
    worktree,
    git,
    edit: (name, file, text) => writeFileSync(path.join(worktree(name), file), text),
    live: (...names) => names.map((name) => ({ taskId: name, commit: start, worktree: worktree(name) })),
    watcher: (target = 'main') => {
      let clock = 1_000;
      const watcher = new ConflictWatcher({ repoRoot: r.repo, scratchDir: path.join(r.dir, 'scratch'), target, now: () => clock });
      return { watcher, tick: (ms = 1_000) => (clock += ms) };
    },
  };
}

/** What must not change in a worktree when it is snapshotted: its index's bytes, its status, its files. */
function worktreeState(s: Setup, name: string): { index: Buffer; status: string; files: Record<string, string> } {
  const wt = s.worktree(name);
  const index = readFileSync(path.resolve(wt, s.git(wt, 'rev-parse', '--git-path', 'index')));
  // --no-optional-locks: status must not refresh the index it is checking.
  const status = s.git(wt, '--no-optional-locks', 'status', '--porcelain', '--untracked-files=all');
  const files: Record<string, string> = {};
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === '.git') continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else files[path.relative(wt, full)] = readFileSync(full, 'utf8');
    }
  };
  walk(wt);
  return { index, status, files };
}

describe('ConflictWatcher between live worktrees', () => {
  it('reports uncommitted edits of the same line in two worktrees, then only what changes', async () => {
    const s = setup();
    const { watcher, tick } = s.watcher();
    s.edit('a', SHARED, SHARED_TEXT.replace('two = 2', 'two = "a"'));
    s.edit('b', SHARED, SHARED_TEXT.replace('two = 2', 'two = "b"'));
    writeFileSync(path.join(s.worktree('a'), 'notes.txt'), 'untracked\n');
    const before = { a: worktreeState(s, 'a'), b: worktreeState(s, 'b') };

    const first = await watcher.check(s.live('a', 'b'));
    expect(first.current).toEqual([{ tasks: ['a', 'b'], files: [SHARED], detectedAt: 1_000 }]);
    expect(first.found).toEqual(first.current);
    expect(first.resolved).toEqual([]);
    expect(first.snapshotsTaken).toBe(2);
    expect(first.pairsComputed).toBe(3); // a–b, a–main, b–main
    expect(watcher.current()).toEqual(first.current);

    // The snapshots left both worktrees as they were: index bytes, status, files.
    expect(worktreeState(s, 'a')).toEqual(before.a);
    expect(worktreeState(s, 'b')).toEqual(before.b);

    // Nothing changed: every pair answered from the cache; the conflict keeps its first detection.
    tick();
    const second = await watcher.check(s.live('a', 'b'));
    expect(second).toMatchObject({ found: [], resolved: [], pairsComputed: 0, snapshotsTaken: 2 });
    expect(second.current).toEqual([{ tasks: ['a', 'b'], files: [SHARED], detectedAt: 1_000 }]);

    // Only a changes (another file): only a's pairs (a–b, a–main) are merged again; the conflict is not new.
    tick();
    s.edit('a', 'lib/other.ts', 'export const other = "a";\n');
    const third = await watcher.check(s.live('a', 'b'));
    expect(third).toMatchObject({ found: [], resolved: [], pairsComputed: 2 });
    expect(third.current).toHaveLength(1);

    // a takes its edit of the shared line back: the conflict is resolved.
    tick();
    s.edit('a', SHARED, SHARED_TEXT);
    const fourth = await watcher.check(s.live('a', 'b'));
    expect(fourth.current).toEqual([]);
    expect(fourth.found).toEqual([]);
    expect(fourth.resolved).toEqual([{ tasks: ['a', 'b'], files: [SHARED], detectedAt: 1_000 }]);
    expect(fourth.pairsComputed).toBe(2);
  });

  it('edits to different files do not conflict', async () => {
    const s = setup();
    const { watcher } = s.watcher();
    s.edit('a', SHARED, SHARED_TEXT.replace('two = 2', 'two = "a"'));
    s.edit('b', 'lib/other.ts', 'export const other = "b";\n');
    writeFileSync(path.join(s.worktree('b'), 'new.ts'), 'export {};\n');
    const check = await watcher.check(s.live('a', 'b'));
    expect(check.current).toEqual([]);
    expect(check.found).toEqual([]);
    expect(check.pairsComputed).toBe(3);
  });

  it('edits to different lines of the same file merge cleanly', async () => {
    const s = setup();
    const { watcher } = s.watcher();
    s.edit('a', SHARED, SHARED_TEXT.replace('one = 1', 'one = "a"'));
    s.edit('b', SHARED, SHARED_TEXT.replace('three = 3', 'three = "b"'));
    expect((await watcher.check(s.live('a', 'b'))).current).toEqual([]);
  });

  it('reports a conflict against the target once main moves with a conflicting commit', async () => {
    const s = setup();
    const { watcher, tick } = s.watcher();
    s.edit('a', SHARED, SHARED_TEXT.replace('two = 2', 'two = "a"'));
    expect((await watcher.check(s.live('a', 'b'))).current).toEqual([]);

    tick();
    writeFileSync(path.join(s.repo.repo, SHARED), SHARED_TEXT.replace('two = 2', 'two = "main"'));
    s.repo.git('commit', '--quiet', '-am', 'main moves');
    const moved = await watcher.check(s.live('a', 'b'));
    expect(moved.found).toEqual([{ tasks: ['a'], target: 'main', files: [SHARED], detectedAt: 2_000 }]);
    expect(moved.current).toEqual(moved.found);
    // Only the pairs against the target were merged again (b is still at main's old commit: its pair with a is cached).
    expect(moved.pairsComputed).toBe(2);
  });

  it('a completed branch (no worktree) counts by its commit', async () => {
    const s = setup();
    const { watcher } = s.watcher();
    s.edit('b', SHARED, SHARED_TEXT.replace('two = 2', 'two = "b"'));
    s.git(s.worktree('b'), 'commit', '--quiet', '-am', 'b done');
    const result = s.git(s.worktree('b'), 'rev-parse', 'HEAD');
    s.edit('a', SHARED, SHARED_TEXT.replace('two = 2', 'two = "a"'));
    const check = await watcher.check([...s.live('a'), { taskId: 'b', commit: result, worktree: null }]);
    expect(check.current).toEqual([{ tasks: ['a', 'b'], files: [SHARED], detectedAt: 1_000 }]);
    expect(check.snapshotsTaken).toBe(1);
  });

  it('forgets branches no longer listed: their conflicts are resolved and their index files removed', async () => {
    const s = setup();
    const { watcher } = s.watcher();
    s.edit('a', SHARED, SHARED_TEXT.replace('two = 2', 'two = "a"'));
    s.edit('b', SHARED, SHARED_TEXT.replace('two = 2', 'two = "b"'));
    await watcher.check(s.live('a', 'b'));
    const scratch = path.join(s.repo.dir, 'scratch');
    expect(readdirSync(scratch)).toHaveLength(2);
    const after = await watcher.check(s.live('a'));
    expect(after.current).toEqual([]);
    expect(after.resolved).toEqual([{ tasks: ['a', 'b'], files: [SHARED], detectedAt: 1_000 }]);
    expect(after.pairsComputed).toBe(0); // a–main is cached
    expect(readdirSync(scratch)).toHaveLength(1);
  });

  it('without a target branch there are no target checks', async () => {
    const s = setup();
    const { watcher } = s.watcher('no-such-branch');
    s.edit('a', SHARED, SHARED_TEXT.replace('two = 2', 'two = "a"'));
    const check = await watcher.check(s.live('a', 'b'));
    expect(check.pairsComputed).toBe(1);
    expect(check.current).toEqual([]);
    const none = s.watcher(null).watcher;
    expect((await none.check(s.live('a', 'b'))).pairsComputed).toBe(1);
  });

  it('checks called together run one after the other (the second sees the first)', async () => {
    const s = setup();
    const { watcher } = s.watcher();
    s.edit('a', SHARED, SHARED_TEXT.replace('two = 2', 'two = "a"'));
    s.edit('b', SHARED, SHARED_TEXT.replace('two = 2', 'two = "b"'));
    const [first, second] = await Promise.all([watcher.check(s.live('a', 'b')), watcher.check(s.live('a', 'b'))]);
    expect(first.found).toHaveLength(1);
    expect(second.found).toEqual([]);
    expect(second.pairsComputed).toBe(0);
  });

  it('a failed check leaves the picture as it was, and the next one runs', async () => {
    const s = setup();
    const { watcher } = s.watcher();
    s.edit('a', SHARED, SHARED_TEXT.replace('two = 2', 'two = "a"'));
    s.edit('b', SHARED, SHARED_TEXT.replace('two = 2', 'two = "b"'));
    await watcher.check(s.live('a', 'b'));
    const missing = { taskId: 'c', commit: s.start, worktree: path.join(s.repo.dir, 'gone') };
    await expect(watcher.check([...s.live('a', 'b'), missing])).rejects.toMatchObject({ code: 'GIT_FAILED', details: { taskId: 'c' } });
    expect(watcher.current()).toHaveLength(1);
    const next = await watcher.check(s.live('a', 'b'));
    expect(next).toMatchObject({ found: [], resolved: [], pairsComputed: 0 });
  });
});

describe('snapshotWorktree', () => {
  it('is the head itself for a clean worktree, and the same commit for the same files', async () => {
    const s = setup();
    const wt = s.worktree('a');
    const index = path.join(s.repo.dir, 'snapshot.index');
    expect(await snapshotWorktree(wt, 'main', index)).toBe(s.start);

    s.edit('a', SHARED, 'changed\n');
    const one = await snapshotWorktree(wt, s.start, index);
    expect(one).not.toBe(s.start);
    // Again, with the index reused and with a fresh one: the same id.
    expect(await snapshotWorktree(wt, s.start, index)).toBe(one);
    expect(await snapshotWorktree(wt, s.start, path.join(s.repo.dir, 'fresh.index'))).toBe(one);
    expect(s.git(wt, 'rev-parse', `${one}^`)).toBe(s.start);

    // Back to head's content: head again.
    s.edit('a', SHARED, SHARED_TEXT);
    expect(await snapshotWorktree(wt, s.start, index)).toBe(s.start);
  });

  it('holds tracked changes, deletions and untracked files, but not ignored ones', async () => {
    const s = setup();
    const wt = s.worktree('a');
    s.edit('a', SHARED, 'changed\n');
    unlinkSync(path.join(wt, 'lib/other.ts'));
    mkdirSync(path.join(wt, 'build'));
    writeFileSync(path.join(wt, 'build/out.js'), 'ignored\n');
    mkdirSync(path.join(wt, 'src'));
    writeFileSync(path.join(wt, 'src/new.ts'), 'new\n');
    const before = worktreeState(s, 'a');
    const snapshot = await snapshotWorktree(wt, s.start, path.join(s.repo.dir, 'snapshot.index'));
    expect(s.git(wt, 'ls-tree', '-r', '--name-only', snapshot).split('\n').sort()).toEqual(['.gitignore', 'README.md', SHARED, 'src/new.ts']);
    expect(s.git(wt, 'show', `${snapshot}:${SHARED}`)).toBe('changed');
    expect(s.git(wt, 'log', '-1', '--format=%an <%ae> %at %cn <%ce> %ct %s', snapshot)).toBe('coord <coord@localhost> 0 coord <coord@localhost> 0 coord: snapshot');
    expect(worktreeState(s, 'a')).toEqual(before);
  });

  it('recovers from an unreadable index file', async () => {
    const s = setup();
    const wt = s.worktree('a');
    const index = path.join(s.repo.dir, 'snapshot.index');
    s.edit('a', SHARED, 'changed\n');
    const good = await snapshotWorktree(wt, s.start, index);
    writeFileSync(index, 'not an index');
    expect(await snapshotWorktree(wt, s.start, index)).toBe(good);
    rmSync(index);
    expect(existsSync(index)).toBe(false);
    expect(await snapshotWorktree(wt, s.start, index)).toBe(good);
  });
});
