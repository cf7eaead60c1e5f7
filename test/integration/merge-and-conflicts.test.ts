/**
 * Conflict prediction and the merge queue through the supervisor, with real workers and a
 * real repository: two running tasks editing the same line are named in a `coord:conflict`
 * before either finishes; completed branches are tested and merged onto `main` (the user's
 * checkout of it brought along, never left dirty), a conflicting branch and a test-failing
 * one are reported and never reach it, a failing batch is bisected, verdicts are in the
 * summary and survive a restart, and a target checkout with local changes is refused.
 */
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSupervisor, type Supervisor, type SupervisorOptions } from '../../src/index.js';
import { FAKE_AGENT } from '../helpers/cli.js';
import { makeRepo, type TempRepo } from '../helpers/git-repo.js';
import { nextEvent } from '../helpers/next-event.js';

let repo: TempRepo | undefined;
let supervisor: Supervisor | undefined;
afterEach(async () => {
  if (supervisor && !['stopped', 'failed'].includes(supervisor.status().state)) await supervisor.stop();
  supervisor = undefined;
  repo?.cleanup();
  repo = undefined;
});

async function start(options: Partial<SupervisorOptions>): Promise<Supervisor> {
  repo ??= makeRepo();
  supervisor = createSupervisor({ repo: repo.repo, stateDir: repo.stateDir, worktreeRoot: repo.worktreeRoot, heartbeatMs: 200, workers: 2, ...options });
  await supervisor.start();
  return supervisor;
}


describe('conflict prediction', () => {
  it('names two running tasks that edit the same line, and the file, before either finishes', async () => {
    repo = makeRepo({ 'README.md': '# test\nshared line\n' });
    const release = path.join(repo.dir, 'release');
    const s = await start({ conflictCheckMs: 200 });
    const conflict = nextEvent<{ tasks: string[]; files: string[] }>(s, 'coord:conflict');
    const edit = (text: string) => ['sh', '-c', `printf '# test\\n${text}\\n' > README.md; while [ ! -f '${release}' ]; do sleep 0.05; done`];
    await s.submit([{ id: 'left', run: edit('left version') }, { id: 'right', run: edit('right version') }]);
    expect(await conflict).toMatchObject({ tasks: ['left', 'right'], files: ['README.md'] });
    const during = await s.summary();
    expect(during.tasks.map((t) => t.status)).toEqual(['running', 'running']);
    expect(during.conflicts).toEqual([expect.objectContaining({ tasks: ['left', 'right'], files: ['README.md'] })]);
    writeFileSync(release, '');
    await s.settled();
    await s.drain();
  });
});

describe('the merge queue', () => {
  const check = [
    "import { execFileSync } from 'node:child_process';",
    "let out = '';",
    "try { out = execFileSync('git', ['grep', '-l', 'BAD', '--', ':!check.mjs'], { encoding: 'utf8' }); } catch { out = ''; }",
    "if (out.trim() !== '') { console.log('bad content in', out.trim()); process.exit(1); }",
    "console.log('all good');",
    '',
  ].join('\n');

  it('merges tested branches onto main (dependencies first) and keeps a test-failing one off it, the batch around it merged', async () => {
    repo = makeRepo({ 'README.md': '# test\nline two\n', 'check.mjs': check });
    const s = await start({ workers: 4, merge: { target: 'main', test: [process.execPath, 'check.mjs'], batch: 4 } });
    const failed: Array<{ taskId: string; status: string; code: string }> = [];
    s.events.on('coord:merge-failed', (e) => failed.push(e));
    const write = (file: string, text: string) => ['sh', '-c', `printf '${text}\\n' > ${file}`];
    await s.submit([
      { id: 'good-a', run: write('a.txt', 'a') },
      { id: 'bad', run: write('bad.txt', 'BAD') },
      { id: 'good-b', run: write('b.txt', 'b') },
      { id: 'good-c', run: write('c.txt', 'c'), deps: ['good-a'] },
    ]);
    await s.settled();
    const summary = await s.summary();
    const merge = Object.fromEntries(summary.tasks.map((t) => [t.id, t.merge]));
    expect(merge['good-a']?.status).toBe('merged');
    expect(merge['good-b']?.status).toBe('merged');
    expect(merge['good-c']?.status).toBe('merged');
    expect(merge['bad']).toMatchObject({ status: 'test-failed', error: { code: 'MERGE_TEST_FAILED' } });
    expect(existsSync(merge['bad']?.logFile ?? '')).toBe(true);
    const onMain = (id: string) => repo?.git('merge-base', '--is-ancestor', summary.tasks.find((t) => t.id === id)?.commit ?? '', 'main') === '';
    expect(onMain('good-a') && onMain('good-b') && onMain('good-c')).toBe(true);
    expect(repo.git('ls-tree', '--name-only', 'main')).not.toContain('bad.txt');
    expect(failed.map((f) => [f.taskId, f.status])).toContainEqual(['bad', 'test-failed']);
    // The user's checkout of main came along and is clean.
    expect(repo.git('status', '--porcelain')).toBe('');
    expect(repo.git('rev-parse', 'HEAD')).toBe(repo.git('rev-parse', 'main'));
    expect(summary.merge).toMatchObject({ target: 'main', counts: expect.objectContaining({ merged: expect.any(Number), 'test-failed': 1 }) });
    await s.drain();
  });

  it('reports a branch that conflicts with main, and keeps the verdicts across a restart', async () => {
    repo = makeRepo({ 'README.md': '# test\nline two\n', 'check.mjs': check });
    const options = { workers: 1, merge: { target: 'main' as const, test: [process.execPath, 'check.mjs'], batch: 2 } };
    const s = await start(options);
    await s.submit([
      { id: 'first', run: ['sh', '-c', "printf '# test\\nfirst\\n' > README.md"] },
      { id: 'second', run: ['sh', '-c', "printf '# test\\nsecond\\n' > README.md"] },
    ]);
    await s.settled();
    const merge = Object.fromEntries((await s.summary()).tasks.map((t) => [t.id, t.merge]));
    expect(merge['first']?.status).toBe('merged');
    expect(merge['second']).toMatchObject({ status: 'conflict', files: ['README.md'], error: { code: 'MERGE_CONFLICT' } });
    const mainAfter = repo.git('rev-parse', 'main');
    await s.stop();

    const again = await start(options);
    await again.settled();
    const restarted = Object.fromEntries((await again.summary()).tasks.map((t) => [t.id, t.merge?.status]));
    expect(restarted).toEqual({ first: 'merged', second: 'conflict' });
    expect(repo.git('rev-parse', 'main')).toBe(mainAfter);
    await again.drain();
  });

  it('with onFailure: requeue, sends a test failure to the agent, whose task runs again on its branch and merges once fixed', async () => {
    repo = makeRepo({ 'README.md': '# test\n', 'check.mjs': check });
    const session = '0a0a0a0a-1b1b-4c2c-8d3d-4e4e4e4e4e4e';
    const fixer = {
      command: process.execPath, parser: 'claude-stream-json' as const,
      args: [FAKE_AGENT, '--stream-json', '--session-id', session, '--write', 'bad.txt', '--text', 'BAD', '--commit', 'add bad.txt', '-p', '{prompt}'],
      // The resumed turn writes the file again, fixed.
      resumeArgs: ['--resume', '{session}', '--write', 'bad.txt', '--text', 'fixed', '--commit', 'fix bad.txt'],
    };
    const s = await start({
      workers: 1, agents: { fixer }, mailbox: { pollMs: 200, recheckMs: 100 },
      merge: { target: 'main', test: [process.execPath, 'check.mjs'], onFailure: 'requeue' },
    });
    const failed = nextEvent<{ taskId: string; status: string }>(s, 'coord:merge-failed');
    const merged = nextEvent<{ taskId: string; commit: string }>(s, 'coord:merged');
    await s.submit([{ id: 'fix', agent: 'fixer', prompt: 'add bad.txt' }]);
    expect(await failed).toMatchObject({ taskId: 'fix', status: 'test-failed' });
    expect(await merged).toMatchObject({ taskId: 'fix' });
    const task = (await s.summary({ ids: ['fix'] })).tasks[0];
    expect(task?.merge?.status).toBe('merged');
    expect(task?.attempts).toBe(2);
    expect(task?.mailbox?.messages[0]).toMatchObject({ source: 'merge-queue', text: expect.stringContaining('bad content in bad.txt') });
    expect(repo.git('show', 'main:bad.txt')).toBe('fixed');
    await s.drain();
  });

  it('refuses to move a target checked out with local changes (MERGE_TARGET_DIRTY), leaving the checkout as it is', async () => {
    repo = makeRepo({ 'README.md': '# test\nline two\n', 'check.mjs': check, 'notes.txt': 'mine\n' });
    const s = await start({ workers: 1, allowDirty: true, merge: { target: 'main', test: [process.execPath, 'check.mjs'] } });
    writeFileSync(path.join(repo.repo, 'notes.txt'), 'my uncommitted change\n');
    const refused = nextEvent<{ taskId: string; code: string; status: string }>(s, 'coord:merge-failed');
    const before = repo.git('rev-parse', 'main');
    await s.submit([{ id: 'work', run: ['sh', '-c', "printf 'w\\n' > w.txt"] }]);
    expect(await refused).toMatchObject({ taskId: 'work', code: 'MERGE_TARGET_DIRTY', status: 'pending' });
    expect(repo.git('rev-parse', 'main')).toBe(before);
    expect(repo.git('status', '--porcelain')).toBe('M notes.txt');
    await s.stop();
  });
});
