import { mkdir, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { WorkerMessageOf } from '../../src/protocol/messages.js';
import { createTempRepo, git, HANDLERS, moduleAssign, removeTempRepo, WorkerHandle, type TempRepo } from './harness.js';

const echo = path.join(HANDLERS, 'echo.mjs');
const throws = path.join(HANDLERS, 'throws.mjs');
const cpuBound = path.join(HANDLERS, 'cpu-bound.mjs');

describe('worker orchestrator: module tasks in piscina threads', () => {
  let repo: TempRepo;
  let worker: WorkerHandle;

  beforeEach(async () => {
    repo = await createTempRepo();
    worker = new WorkerHandle(repo.worktree);
    await worker.start(repo.worktree, { heartbeatMs: 100 });
  });
  afterEach(async () => {
    expect(worker.invalid).toEqual([]);
    await worker.dispose();
    await removeTempRepo(repo);
  });

  it('returns the handler value, called with (input, context) and COORD_* in its environment', async () => {
    worker.send(moduleAssign(repo, 'echo', echo, { n: 1, list: ['a'] }));
    const started = await worker.waitFor('coord:started', (m) => m.taskId === 'echo');
    expect(started.pid).toBeNull();
    const final = await worker.final('echo');
    expect(final).toMatchObject({
      type: 'coord:complete',
      exitCode: null,
      result: { input: { n: 1, list: ['a'] }, context: { taskId: 'echo', attempt: 1, workerId: 'w1', worktree: repo.worktree }, env: 'echo' },
    });
    expect(final.commit).toBe(repo.head); // nothing written: the branch stays at startCommit
  });

  it('calls the named export', async () => {
    worker.send(moduleAssign(repo, 'shout', echo, 'quiet please', { exportName: 'shout' }));
    expect(await worker.final('shout')).toMatchObject({ type: 'coord:complete', result: 'QUIET PLEASE' });
  });

  it('resolves a relative module path against the worktree at the task commit', async () => {
    await mkdir(path.join(repo.repo, 'handlers'));
    await writeFile(path.join(repo.repo, 'handlers', 'local.mjs'), 'export default (input) => ({ local: true, input });\n');
    await git(repo.repo, 'add', '-A');
    await git(repo.repo, 'commit', '--quiet', '-m', 'add handler');
    const start = await git(repo.repo, 'rev-parse', 'HEAD');
    worker.send({ ...moduleAssign(repo, 'local', 'handlers/local.mjs', 5), startCommit: start });
    expect(await worker.final('local')).toMatchObject({ type: 'coord:complete', result: { local: true, input: 5 } });
  });

  it('reports a thrown error as MODULE_FAILED, retryable, with its message', async () => {
    worker.send(moduleAssign(repo, 'throws', throws, 'x'));
    expect(await worker.final('throws')).toMatchObject({
      type: 'coord:failed', code: 'MODULE_FAILED', retryable: true, exitCode: null, signal: null,
      message: expect.stringContaining('handler failed on purpose: "x"'),
    });
  });

  it("keeps a thrown error's retryable = false, and its own code at the head of the message (MODULE_FAILED)", async () => {
    worker.send(moduleAssign(repo, 'permanent', throws, null, { exportName: 'permanent' }));
    expect(await worker.final('permanent')).toMatchObject({
      type: 'coord:failed', code: 'MODULE_FAILED', retryable: false, message: 'QUOTA_EXHAUSTED: quota exhausted for good',
    });
  });

  it('refuses a result that is not JSON', async () => {
    worker.send(moduleAssign(repo, 'bigint', throws, null, { exportName: 'unserializable' }));
    expect(await worker.final('bigint')).toMatchObject({
      type: 'coord:failed', code: 'RESULT_NOT_SERIALIZABLE', retryable: false, message: expect.stringContaining('.big'),
    });
  });

  it('reports a missing module or export as MODULE_NOT_FOUND (not retryable)', async () => {
    worker.send(moduleAssign(repo, 'missing', 'no/such/handler.mjs', null));
    expect(await worker.final('missing')).toMatchObject({ type: 'coord:failed', code: 'MODULE_NOT_FOUND', retryable: false });
    worker.send(moduleAssign(repo, 'no-export', echo, null, { exportName: 'nothingHere' }));
    expect(await worker.final('no-export')).toMatchObject({
      type: 'coord:failed', code: 'MODULE_NOT_FOUND', retryable: false, message: expect.stringContaining('nothingHere'),
    });
  });

  it('keeps heartbeating while a CPU-bound handler spins', async () => {
    worker.send(moduleAssign(repo, 'spin', cpuBound, { ms: 1_500 }));
    await worker.waitFor('coord:started', (m) => m.taskId === 'spin');
    const final = await worker.final('spin');
    expect(final.type).toBe('coord:complete');
    // Beats that reported the task as running: it spun ~1.5 s at a 100 ms interval, so
    // ~15 are expected; a blocked event loop would manage at most one or two.
    const during = worker.all('coord:heartbeat').filter((beat) => beat.running.includes('spin'));
    expect(during.length).toBeGreaterThanOrEqual(6);
  });

  it('times out a handler that runs too long', async () => {
    worker.send(moduleAssign(repo, 'too-long', cpuBound, { ms: 30_000 }, { timeoutMs: 500 }));
    expect(await worker.final('too-long')).toMatchObject({ type: 'coord:failed', code: 'TASK_TIMEOUT', retryable: true });
    worker.send(moduleAssign(repo, 'after', echo, 'next'));
    expect(await worker.final('after')).toMatchObject({ type: 'coord:complete', result: { input: 'next' } });
  });

  it('cancels a running handler', async () => {
    worker.send(moduleAssign(repo, 'cancel-spin', cpuBound, { ms: 30_000 }));
    await worker.waitFor('coord:started', (m) => m.taskId === 'cancel-spin');
    worker.send({ type: 'coord:cancel', taskId: 'cancel-spin', attempt: 1, lease: 'lease-cancel-spin', reason: 'test' });
    expect(await worker.final('cancel-spin', 10_000)).toMatchObject({ type: 'coord:failed', code: 'TASK_CANCELLED', retryable: true });
  });

  describe('warm threads, one module graph per stretch of start commits with the same modules', () => {
    // A handler in the repository that reports its thread, a counter kept by a module it
    // imports and a label from a CommonJS .js file it imports: the counter shows whether the
    // module graph is the one an earlier task loaded, the label which code it runs.
    let commitA: string;
    beforeEach(async () => {
      await mkdir(path.join(repo.repo, 'handlers'));
      await writeFile(path.join(repo.repo, 'handlers', 'counter.mjs'), [
        "import { threadId } from 'node:worker_threads';",
        "import { bump, version } from './state.mjs';",
        "import label from './label.js';",
        'export default () => ({ threadId, count: bump(), version, label });',
        '',
      ].join('\n'));
      await writeFile(path.join(repo.repo, 'handlers', 'state.mjs'), stateModule('a'));
      await writeFile(path.join(repo.repo, 'handlers', 'label.js'), "module.exports = 'first';\n");
      await writeFile(path.join(repo.repo, 'notes.txt'), 'one\n');
      commitA = await commitAll('add the counter handler');
    });

    const stateModule = (version: string): string => `let count = 0;\nexport const version = '${version}';\nexport function bump() { count += 1; return count; }\n`;
    const commitAll = async (message: string): Promise<string> => {
      await git(repo.repo, 'add', '-A');
      await git(repo.repo, 'commit', '--quiet', '-m', message);
      return git(repo.repo, 'rev-parse', 'HEAD');
    };
    type Count = { threadId: number; count: number; version: string; label: string };
    let tasks = 0;
    /** Runs the counter handler (by default the one in the worktree) at `startCommit` and returns what it reported. */
    const count = async (startCommit: string, extra: { module?: string; workspace?: 'none' } = {}): Promise<Count> => {
      tasks += 1;
      const taskId = `count-${tasks}`;
      worker.send({ ...moduleAssign(repo, taskId, extra.module ?? 'handlers/counter.mjs', null), startCommit,
        ...(extra.workspace === undefined ? {} : { workspace: extra.workspace }) });
      const final = await worker.final(taskId);
      expect(final.type).toBe('coord:complete');
      return (final as WorkerMessageOf<'coord:complete'>).result as Count;
    };

    it('runs tasks with the same start commit on the same thread, module state kept', async () => {
      const first = await count(commitA);
      const second = await count(commitA);
      expect(first).toMatchObject({ count: 1, version: 'a', label: 'first' });
      expect(second).toEqual({ threadId: first.threadId, count: 2, version: 'a', label: 'first' });
    });

    it('loads the handler and its imports afresh, on a new thread, when the start commit changes', async () => {
      const atA = await count(commitA);
      // Only the imported module changes: the handler file itself is the same.
      await writeFile(path.join(repo.repo, 'handlers', 'state.mjs'), stateModule('b'));
      const commitB = await commitAll('edit the state module');
      const atB = await count(commitB);
      expect(atB).toMatchObject({ count: 1, version: 'b' });
      expect(atB.threadId).not.toBe(atA.threadId);
      expect(await count(commitB)).toEqual({ threadId: atB.threadId, count: 2, version: 'b', label: 'first' });
      // Back to A: A's pool was replaced, so its graph is loaded again rather than remembered.
      const againA = await count(commitA);
      expect(againA).toMatchObject({ count: 1, version: 'a' });
      expect([atA.threadId, atB.threadId]).not.toContain(againA.threadId);
    });

    it('keeps the thread and its module state across start commits that differ in no module (.txt, .md, a new .csv)', async () => {
      const atA = await count(commitA);
      await writeFile(path.join(repo.repo, 'notes.txt'), 'two\n');
      const commitB = await commitAll('edit the notes');
      expect(await count(commitB)).toEqual({ ...atA, count: 2 });
      await writeFile(path.join(repo.repo, 'README.md'), '# changed\n');
      await writeFile(path.join(repo.repo, 'handlers', 'table.csv'), 'a,b\n');
      const commitC = await commitAll('edit the readme, add a table');
      expect(await count(commitC)).toEqual({ ...atA, count: 3 });
      // Back to A (the diff is from the pool's commit, C, now): still no module between them.
      expect(await count(commitA)).toEqual({ ...atA, count: 4 });
    });

    it('loads the handler and its imports afresh, on a new thread, when a .js file changes', async () => {
      const atA = await count(commitA);
      await writeFile(path.join(repo.repo, 'handlers', 'label.js'), "module.exports = 'second';\n");
      await writeFile(path.join(repo.repo, 'notes.txt'), 'two\n');
      const commitB = await commitAll('edit the label');
      const atB = await count(commitB);
      expect(atB).toMatchObject({ count: 1, version: 'a', label: 'second' });
      expect(atB.threadId).not.toBe(atA.threadId);
      // After a reload, the pool is kept again while only data changes.
      await writeFile(path.join(repo.repo, 'notes.txt'), 'three\n');
      expect(await count(await commitAll('edit the notes'))).toEqual({ ...atB, count: 2 });
    });

    it('replaces the threads when a path that is not imported but could be a module changes', async () => {
      const atA = await count(commitA);
      await mkdir(path.join(repo.repo, 'elsewhere'));
      await writeFile(path.join(repo.repo, 'elsewhere', 'package.json'), '{}\n');
      const atB = await count(await commitAll('add a package.json'));
      expect(atB).toMatchObject({ count: 1 });
      expect(atB.threadId).not.toBe(atA.threadId);
    });

    it("re-imports a kept thread's handler file edited outside the repository (its mtime changed)", async () => {
      const outside = path.join(repo.root, 'outside-handler.mjs');
      const write = async (label: string, mtime: Date): Promise<void> => {
        await writeFile(outside, `import { threadId } from 'node:worker_threads';\nexport default () => ({ threadId, count: 0, version: 'outside', label: '${label}' });\n`);
        await utimes(outside, mtime, mtime);
      };
      await write('before', new Date(2_000_000_000_000));
      const before = await count(commitA, { module: outside });
      await write('after', new Date(2_000_000_001_000));
      await writeFile(path.join(repo.repo, 'notes.txt'), 'two\n');
      const after = await count(await commitAll('edit the notes'), { module: outside });
      expect(before.label).toBe('before');
      expect(after).toEqual({ ...before, label: 'after' });
    });

    it('replaces the threads when the diff between the start commits cannot be computed', async () => {
      // A handler outside the repository, run without a workspace: nothing is checked out, so
      // the pool is keyed to the assign's start commit, which here names no commit at all.
      const outside = path.join(repo.root, 'outside-counter.mjs');
      await writeFile(outside, [
        "import { threadId } from 'node:worker_threads';",
        'let count = 0;',
        "export default () => ({ threadId, count: ++count, version: 'outside', label: 'outside' });",
        '',
      ].join('\n'));
      const atA = await count(commitA, { module: outside, workspace: 'none' });
      expect(await count(commitA, { module: outside, workspace: 'none' })).toEqual({ ...atA, count: 2 });
      const unknown = 'f'.repeat(40);
      const atUnknown = await count(unknown, { module: outside, workspace: 'none' });
      expect(atUnknown.count).toBe(1);
      expect(atUnknown.threadId).not.toBe(atA.threadId);
    });

    it('runs the task after a timeout on a fresh thread, even with the same start commit', async () => {
      const before = await count(commitA);
      worker.send({ ...moduleAssign(repo, 'too-long', cpuBound, { ms: 30_000 }, { timeoutMs: 500 }), startCommit: commitA });
      expect(await worker.final('too-long')).toMatchObject({ type: 'coord:failed', code: 'TASK_TIMEOUT', retryable: true });
      const after = await count(commitA);
      expect(after.count).toBe(1);
      expect(after.threadId).not.toBe(before.threadId);
    });

    it('runs the task after a cancellation on a fresh thread, even with the same start commit', async () => {
      const before = await count(commitA);
      worker.send({ ...moduleAssign(repo, 'cancel-spin', cpuBound, { ms: 30_000 }), startCommit: commitA });
      await worker.waitFor('coord:started', (m) => m.taskId === 'cancel-spin');
      worker.send({ type: 'coord:cancel', taskId: 'cancel-spin', attempt: 1, lease: 'lease-cancel-spin', reason: 'test' });
      expect(await worker.final('cancel-spin', 10_000)).toMatchObject({ type: 'coord:failed', code: 'TASK_CANCELLED', retryable: true });
      const after = await count(commitA);
      expect(after.count).toBe(1);
      expect(after.threadId).not.toBe(before.threadId);
    });
  });
});
