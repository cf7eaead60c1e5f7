/**
 * The merge queue engine on real repositories: task branches go onto `main` only through a
 * tested candidate; a conflicting or test-failing branch never reaches it and never holds
 * back the others; a target someone else moved is never overwritten; the user's checkout is
 * left alone (fast-forwarded only when it has the target checked out and is clean). The test
 * command is a real node script committed in the repository: it fails when a file holds the
 * word the bad branches write.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import { MergeQueue, type MergeSettings, type MergeState } from '../../src/merge/merge-queue.js';
import { isAlive, makeRepo, type TempRepo } from '../helpers/git-repo.js';

/** Fails (exit 1) when any file of the checkout holds the marker; says what it checked. */
const CHECK = `import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
const marker = 'BA' + 'D';
const bad = [];
let files = 0;
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    if (name === '.git' || name === 'node_modules') continue;
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) walk(full);
    else { files += 1; if (readFileSync(full, 'utf8').includes(marker)) bad.push(name); }
  }
};
walk(process.cwd());
console.log('checked ' + files + ' files');
for (const name of bad) console.error('found the marker in ' + name);
process.exit(bad.length === 0 ? 0 : 1);
`;

/**
 * Moves main by a commit of its own (adding foreign.txt) the first time it runs, i.e. when
 * the marker file named by its argument is absent, as another process pushing to main while
 * the queue tests would.
 */
const MOVE_MAIN = `import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
const marker = process.argv[2];
if (!existsSync(marker)) {
  writeFileSync(marker, 'moved\\n');
  const git = (args, input) => execFileSync('git', args, { encoding: 'utf8', input }).trim();
  const main = git(['rev-parse', 'refs/heads/main']);
  const blob = git(['hash-object', '-w', '--stdin'], 'someone else\\n');
  const tree = git(['mktree'], git(['ls-tree', main]) + '\\n100644 blob ' + blob + '\\tforeign.txt\\n');
  const commit = git(['commit-tree', tree, '-p', main, '-m', 'foreign commit']);
  git(['update-ref', 'refs/heads/main', commit, main]);
  console.log('moved main to ' + commit);
}
`;

/** Sleeps long after saying its pid, so the queue can be closed under it. */
const HANG = `import { writeFileSync } from 'node:fs';
writeFileSync(process.argv[2], String(process.pid));
setInterval(() => {}, 1000);
`;

let repo: TempRepo | undefined;
let queue: MergeQueue | undefined;
afterEach(async () => {
  await queue?.close();
  queue = undefined;
  repo?.cleanup();
  repo = undefined;
});

function setup(): TempRepo {
  repo = makeRepo({ 'README.md': '# test\nline two\n', 'check.mjs': CHECK, 'move-main.mjs': MOVE_MAIN, 'hang.mjs': HANG });
  return repo;
}

/** Commits `files` on a new branch `name` from `from`, in a throwaway worktree; returns the commit. */
function commitOn(r: TempRepo, name: string, files: Record<string, string>, from = 'main'): string {
  const wt = mkdtempSync(path.join(r.dir, `branch-${name.replace(/\W/g, '_')}-`));
  r.git('worktree', 'add', '--quiet', '-B', name, wt, from);
  for (const [file, text] of Object.entries(files)) writeFileSync(path.join(wt, file), text);
  execFileSync('git', ['add', '-A'], { cwd: wt });
  execFileSync('git', ['commit', '--quiet', '-m', `work on ${name}`], { cwd: wt });
  const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: wt, encoding: 'utf8' }).trim();
  r.git('worktree', 'remove', '--force', wt);
  return commit;
}

interface Harness {
  queue: MergeQueue;
  changes: Array<[string, MergeState]>;
  dir: string;
  /** The test logs written so far (one per test run). */
  logs(): string[];
  enqueue(taskId: string, commit: string, deps?: string[]): void;
}

function start(r: TempRepo, settings: Partial<MergeSettings> = {}): Harness {
  const dir = path.join(r.dir, 'merge');
  const changes: Array<[string, MergeState]> = [];
  const q = new MergeQueue({
    repoRoot: r.repo,
    dir,
    settings: { target: 'main', test: [process.execPath, 'check.mjs'], batch: 4, mode: 'merge', ...settings },
    logger: silentLogger(),
    now: Date.now,
    onChange: async (taskId, state) => {
      await Promise.resolve();
      changes.push([taskId, state]);
    },
  });
  queue = q;
  return {
    queue: q,
    changes,
    dir,
    logs: () => (existsSync(path.join(dir, 'logs')) ? readdirSync(path.join(dir, 'logs')).sort((a, b) => parseInt(a, 10) - parseInt(b, 10)) : []),
    enqueue: (taskId, commit, deps = []) => q.enqueue({ taskId, branch: taskId, commit, deps }),
  };
}

const isAncestor = (r: TempRepo, commit: string, of = 'main'): boolean => {
  try {
    r.git('merge-base', '--is-ancestor', commit, of);
    return true;
  } catch {
    return false;
  }
};

/** The user works on another branch, so main is checked out nowhere (the compare-and-swap path). */
const leaveMain = (r: TempRepo): void => void r.git('checkout', '--quiet', '-b', 'user-work');

describe('the merge queue', () => {
  it('merges good branches onto main in one tested batch', async () => {
    const r = setup();
    leaveMain(r);
    const before = r.git('rev-parse', 'main');
    const commits = ['a', 'b', 'c'].map((id) => commitOn(r, id, { [`${id}.txt`]: `${id}\n` }));
    const h = start(r);
    ['a', 'b', 'c'].forEach((id, i) => h.enqueue(id, commits[i] as string));
    expect(h.queue.idle()).toBe(false);
    await h.queue.whenIdle();
    const tip = r.git('rev-parse', 'main');
    for (const [i, id] of ['a', 'b', 'c'].entries()) {
      expect(h.queue.state(id)).toMatchObject({ status: 'merged', commit: tip });
      expect(isAncestor(r, commits[i] as string)).toBe(true);
    }
    expect(isAncestor(r, before)).toBe(true);
    expect(r.git('log', '--first-parent', '--format=%s', '-n', '3', 'main').split('\n')).toEqual(['coord: merge c (c)', 'coord: merge b (b)', 'coord: merge a (a)']);
    expect(r.git('log', '--format=%P', '-n', '1', 'main').split(' ')).toEqual([r.git('rev-parse', 'main~1'), commits[2]]);
    expect(h.logs()).toEqual(['1-a.log']);
    expect(h.queue.state('a')?.logFile).toBe(path.join(h.dir, 'logs', '1-a.log'));
    // Every change was reported, in order: pending for each, then merged for each.
    expect(h.changes.map(([id, s]) => `${id}:${s.status}`)).toEqual(['a:pending', 'b:pending', 'c:pending', 'a:merged', 'b:merged', 'c:merged']);
    expect(h.queue.idle()).toBe(true);
  });

  it('reports a conflicting branch with its file, never merges it, and merges the rest of the batch', async () => {
    const r = setup();
    leaveMain(r);
    const x = commitOn(r, 'x', { 'README.md': '# test\nline two, said x\n' });
    const y = commitOn(r, 'y', { 'README.md': '# test\nline two, said y\n' });
    const z = commitOn(r, 'z', { 'z.txt': 'z\n' });
    const h = start(r);
    h.enqueue('x', x);
    h.enqueue('y', y);
    h.enqueue('z', z);
    await h.queue.whenIdle();
    expect(h.queue.state('x')?.status).toBe('merged');
    expect(h.queue.state('z')?.status).toBe('merged');
    const conflict = h.queue.state('y');
    expect(conflict).toMatchObject({ status: 'conflict', commit: null, files: ['README.md'], error: { code: 'MERGE_CONFLICT' } });
    expect(conflict?.error?.message).toContain('README.md');
    expect(isAncestor(r, y)).toBe(false);
    expect(r.git('show', 'main:README.md')).toContain('said x');
    expect(h.logs()).toHaveLength(1);
  });

  it('bisects a failing batch: the bad branch is test-failed and never on main, the other three merge', async () => {
    const r = setup();
    leaveMain(r);
    const ids = ['a', 'bad', 'c', 'd'];
    const commits = ids.map((id) => commitOn(r, id, { [`${id}.txt`]: id === 'bad' ? 'this is BAD\n' : `${id}\n` }));
    const h = start(r);
    ids.forEach((id, i) => h.enqueue(id, commits[i] as string));
    await h.queue.whenIdle();
    const failed = h.queue.state('bad');
    expect(failed).toMatchObject({ status: 'test-failed', commit: null, error: { code: 'MERGE_TEST_FAILED' } });
    expect(failed?.outputTail).toEqual(['checked 6 files', 'found the marker in bad.txt']);
    expect(failed?.logFile && readFileSync(failed.logFile, 'utf8')).toContain('found the marker in bad.txt');
    expect(isAncestor(r, commits[1] as string)).toBe(false);
    for (const id of ['a', 'c', 'd']) expect(h.queue.state(id)?.status).toBe('merged');
    for (const i of [0, 2, 3]) expect(isAncestor(r, commits[i] as string)).toBe(true);
    // [a bad c d] fails, [a bad] fails, [a] passes, [bad] fails, [c d] passes.
    expect(h.logs()).toEqual(['1-a.log', '2-a.log', '3-a.log', '4-bad.log', '5-c.log']);
    expect(failed?.logFile).toBe(path.join(h.dir, 'logs', '4-bad.log'));
    expect(h.queue.state('a')?.commit).not.toBe(h.queue.state('d')?.commit);
    expect(h.queue.state('d')?.commit).toBe(r.git('rev-parse', 'main'));
    expect(r.git('ls-tree', '--name-only', 'main').split('\n')).not.toContain('bad.txt');
  });

  it('squash mode gives one single-parent commit per branch', async () => {
    const r = setup();
    leaveMain(r);
    const before = r.git('rev-parse', 'main');
    const a = commitOn(r, 'a', { 'a.txt': 'a\n' });
    const b = commitOn(r, 'b', { 'b.txt': 'b\n' });
    const h = start(r, { mode: 'squash' });
    h.enqueue('a', a);
    h.enqueue('b', b);
    await h.queue.whenIdle();
    expect(h.queue.state('b')).toMatchObject({ status: 'merged', commit: r.git('rev-parse', 'main') });
    expect(r.git('log', '--format=%s|%P', `${before}..main`).split('\n')).toEqual([`coord: squash b|${r.git('rev-parse', 'main~1')}`, `coord: squash a|${before}`]);
    expect(r.git('show', 'main:a.txt')).toBe('a');
    expect(r.git('show', 'main:b.txt')).toBe('b');
    expect(isAncestor(r, a)).toBe(false);
  });

  it('never overwrites a target someone else moved: the batch is rebuilt and retested on the new tip', async () => {
    const r = setup();
    leaveMain(r);
    const marker = path.join(r.dir, 'moved.marker');
    const a = commitOn(r, 'a', { 'a.txt': 'a\n' });
    const b = commitOn(r, 'b', { 'b.txt': 'b\n' });
    const h = start(r, { test: [process.execPath, 'move-main.mjs', marker] });
    h.enqueue('a', a);
    h.enqueue('b', b);
    await h.queue.whenIdle();
    const tip = r.git('rev-parse', 'main');
    const foreign = r.git('log', '--format=%H', '--grep=foreign commit', 'main');
    expect(foreign).toMatch(/^[0-9a-f]{40}$/);
    expect(isAncestor(r, foreign)).toBe(true);
    expect(r.git('show', 'main:foreign.txt')).toBe('someone else');
    expect(h.queue.state('a')).toMatchObject({ status: 'merged', commit: tip });
    expect(h.queue.state('b')).toMatchObject({ status: 'merged', commit: tip });
    expect(isAncestor(r, a) && isAncestor(r, b)).toBe(true);
    // The first candidate (built on the old tip) was tested, then refused by the swap, and tested again.
    expect(h.logs()).toHaveLength(2);
    expect(r.git('log', '--first-parent', '--format=%s', '-n', '3', 'main').split('\n')).toEqual(['coord: merge b (b)', 'coord: merge a (a)', 'foreign commit']);
  });

  it('fast-forwards main checked out clean in the user\'s checkout: its files follow and it stays clean', async () => {
    const r = setup();
    const a = commitOn(r, 'a', { 'a.txt': 'a\n' });
    const h = start(r);
    h.enqueue('a', a);
    await h.queue.whenIdle();
    expect(h.queue.state('a')?.status).toBe('merged');
    expect(r.git('rev-parse', 'HEAD')).toBe(r.git('rev-parse', 'main'));
    expect(r.git('symbolic-ref', 'HEAD')).toBe('refs/heads/main');
    expect(r.git('status', '--porcelain')).toBe('');
    expect(readFileSync(path.join(r.repo, 'a.txt'), 'utf8')).toBe('a\n');
  });

  it('leaves main alone while its checkout has local changes (MERGE_TARGET_DIRTY), and merges after they are reverted and retry()', async () => {
    const r = setup();
    const before = r.git('rev-parse', 'main');
    writeFileSync(path.join(r.repo, 'README.md'), '# test\nlocal edit\n');
    const a = commitOn(r, 'a', { 'a.txt': 'a\n' });
    const h = start(r);
    h.enqueue('a', a);
    await h.queue.whenIdle();
    const dirty = h.queue.state('a');
    expect(dirty).toMatchObject({ status: 'pending', commit: null, error: { code: 'MERGE_TARGET_DIRTY' } });
    expect(dirty?.error?.message).toContain(r.repo);
    expect(dirty?.error?.message).toContain('README.md');
    expect(r.git('rev-parse', 'main')).toBe(before);
    expect(readFileSync(path.join(r.repo, 'README.md'), 'utf8')).toBe('# test\nlocal edit\n');
    expect(existsSync(path.join(r.repo, 'a.txt'))).toBe(false);
    expect(h.queue.idle()).toBe(true);

    r.git('checkout', '--', 'README.md');
    h.queue.retry();
    await h.queue.whenIdle();
    expect(h.queue.state('a')).toMatchObject({ status: 'merged', commit: r.git('rev-parse', 'main') });
    expect(isAncestor(r, a)).toBe(true);
    expect(r.git('status', '--porcelain')).toBe('');
  });

  it('never touches the user\'s checkout on another branch with uncommitted changes', async () => {
    const r = setup();
    leaveMain(r);
    writeFileSync(path.join(r.repo, 'README.md'), '# test\nwork in progress\n');
    writeFileSync(path.join(r.repo, 'notes.txt'), 'untracked\n');
    r.git('add', 'notes.txt');
    writeFileSync(path.join(r.repo, 'scratch.txt'), 'untracked too\n');
    const head = r.git('rev-parse', 'HEAD');
    const status = r.git('status', '--porcelain');
    const a = commitOn(r, 'a', { 'a.txt': 'a\n', 'README.md': '# test\nline two, merged\n' });
    const h = start(r);
    h.enqueue('a', a);
    await h.queue.whenIdle();
    expect(h.queue.state('a')?.status).toBe('merged');
    expect(r.git('show', 'main:README.md')).toContain('merged');
    expect(r.git('symbolic-ref', 'HEAD')).toBe('refs/heads/user-work');
    expect(r.git('rev-parse', 'HEAD')).toBe(head);
    expect(r.git('status', '--porcelain')).toBe(status);
    expect(readFileSync(path.join(r.repo, 'README.md'), 'utf8')).toBe('# test\nwork in progress\n');
    expect(existsSync(path.join(r.repo, 'a.txt'))).toBe(false);
  });

  it('merges dependencies first; a failed dependency holds its dependent until it is enqueued again and merges', async () => {
    const r = setup();
    leaveMain(r);
    const badParent = commitOn(r, 'parent', { 'parent.txt': 'BAD\n' });
    const child = commitOn(r, 'child', { 'child.txt': 'child\n' });
    const h = start(r);
    h.enqueue('child', child, ['parent', 'not-in-the-queue']);
    h.enqueue('parent', badParent);
    await h.queue.whenIdle();
    expect(h.queue.state('parent')?.status).toBe('test-failed');
    expect(h.queue.state('child')?.status).toBe('pending');
    expect(h.queue.idle()).toBe(true);

    const goodParent = commitOn(r, 'parent', { 'parent.txt': 'good\n' });
    h.enqueue('parent', goodParent);
    await h.queue.whenIdle();
    expect(h.queue.state('parent')?.status).toBe('merged');
    expect(h.queue.state('child')?.status).toBe('merged');
    expect(r.git('log', '--first-parent', '--format=%s', '-n', '2', 'main').split('\n')).toEqual(['coord: merge child (child)', 'coord: merge parent (parent)']);
    expect(isAncestor(r, badParent)).toBe(false);
  });

  it('reuses its worktree (ignored files kept, untracked ones cleaned) and goes on numbering logs after a restart', async () => {
    const r = setup();
    leaveMain(r);
    writeFileSync(path.join(r.repo, '.gitignore'), 'cache/\n');
    r.git('add', '.gitignore');
    r.git('commit', '--quiet', '-m', 'ignore cache');
    r.git('branch', '-f', 'main', 'HEAD');
    const first = start(r);
    first.enqueue('a', commitOn(r, 'a', { 'a.txt': 'a\n' }));
    await first.queue.whenIdle();
    await first.queue.close();
    const worktree = path.join(first.dir, 'worktree');
    execFileSync('mkdir', ['-p', path.join(worktree, 'cache')]);
    writeFileSync(path.join(worktree, 'cache', 'kept.txt'), 'ignored\n');
    writeFileSync(path.join(worktree, 'stray.txt'), 'BAD leftover\n');

    const second = start(r);
    second.enqueue('b', commitOn(r, 'b', { 'b.txt': 'b\n' }));
    await second.queue.whenIdle();
    // The stray file would have failed the test; it was cleaned. The ignored one is still there.
    expect(second.queue.state('b')?.status).toBe('merged');
    expect(existsSync(path.join(worktree, 'stray.txt'))).toBe(false);
    expect(readFileSync(path.join(worktree, 'cache', 'kept.txt'), 'utf8')).toBe('ignored\n');
    expect(second.logs()).toEqual(['1-a.log', '2-b.log']);
  });

  it('commits as coord <coord@localhost> in a repository with no identity of its own', async () => {
    const r = setup();
    leaveMain(r);
    const a = commitOn(r, 'a', { 'a.txt': 'a\n' });
    r.git('config', '--unset', 'user.name');
    r.git('config', '--unset', 'user.email');
    const saved = { global: process.env.GIT_CONFIG_GLOBAL, system: process.env.GIT_CONFIG_NOSYSTEM };
    process.env.GIT_CONFIG_GLOBAL = '/dev/null';
    process.env.GIT_CONFIG_NOSYSTEM = '1';
    try {
      const h = start(r);
      h.enqueue('a', a);
      await h.queue.whenIdle();
      expect(h.queue.state('a')?.status).toBe('merged');
      expect(r.git('log', '--format=%an <%ae>|%cn <%ce>', '-n', '1', 'main')).toBe('coord <coord@localhost>|coord <coord@localhost>');
    } finally {
      for (const [name, value] of [['GIT_CONFIG_GLOBAL', saved.global], ['GIT_CONFIG_NOSYSTEM', saved.system]] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  it('pauses with the entries pending when the test command cannot start, and goes on after retry() once it can', async () => {
    const r = setup();
    leaveMain(r);
    const before = r.git('rev-parse', 'main');
    const settings = { test: [path.join(r.dir, 'no-such-program')] };
    const h = start(r, settings);
    h.enqueue('a', commitOn(r, 'a', { 'a.txt': 'a\n' }));
    await h.queue.whenIdle();
    expect(h.queue.state('a')?.status).toBe('pending');
    expect(h.queue.idle()).toBe(true);
    expect(r.git('rev-parse', 'main')).toBe(before);
    writeFileSync(path.join(r.dir, 'no-such-program'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    h.queue.retry();
    await h.queue.whenIdle();
    expect(h.queue.state('a')?.status).toBe('merged');
  });

  it('close() kills a running test and leaves its entries pending and main as it was', async () => {
    const r = setup();
    leaveMain(r);
    const before = r.git('rev-parse', 'main');
    const pidFile = path.join(r.dir, 'test.pid');
    const h = start(r, { test: [process.execPath, 'hang.mjs', pidFile] });
    h.enqueue('a', commitOn(r, 'a', { 'a.txt': 'a\n' }));
    await vi.waitFor(() => expect(existsSync(pidFile) && readFileSync(pidFile, 'utf8') !== '').toBe(true), { timeout: 10_000, interval: 20 });
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(isAlive(pid)).toBe(true);
    await h.queue.close();
    expect(isAlive(pid)).toBe(false);
    expect(h.queue.state('a')?.status).toBe('pending');
    expect(h.queue.idle()).toBe(true);
    expect(r.git('rev-parse', 'main')).toBe(before);
    await h.queue.whenIdle();
  });
});
