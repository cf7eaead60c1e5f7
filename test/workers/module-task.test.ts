import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
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

  it("keeps a thrown error's own code and retryable = false", async () => {
    worker.send(moduleAssign(repo, 'permanent', throws, null, { exportName: 'permanent' }));
    expect(await worker.final('permanent')).toMatchObject({
      type: 'coord:failed', code: 'QUOTA_EXHAUSTED', retryable: false, message: 'quota exhausted for good',
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

  it('times out a handler that runs too long, then runs the next task on a fresh thread', async () => {
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
});
