import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION } from '../../src/protocol/messages.js';
import { createTempRepo, removeTempRepo, runAssign, FAKE_AGENT, TEST_RUN_ID, WorkerHandle, type TempRepo } from './harness.js';

describe('worker orchestrator: handshake, heartbeats and garbage', () => {
  let repo: TempRepo;
  let worker: WorkerHandle;

  beforeEach(async () => {
    repo = await createTempRepo();
    worker = new WorkerHandle(repo.worktree);
  });
  afterEach(async () => {
    await worker.dispose();
    await removeTempRepo(repo);
  });

  it('answers coord:hello with coord:ready carrying its id, pid and protocol version', async () => {
    const ready = await worker.start(repo.worktree, { workerId: 'w7' });
    expect(ready).toEqual({ type: 'coord:ready', workerId: 'w7', pid: worker.child.pid, protocolVersion: PROTOCOL_VERSION });
    expect(worker.invalid).toEqual([]);
  });

  it('sends heartbeats at the interval while idle', async () => {
    await worker.start(repo.worktree, { heartbeatMs: 100 });
    // Five beats prove a repeating timer (a one-shot or stopped timer sends one); the timeout
    // is only there for a loaded machine, which may space them out.
    await expect
      .poll(() => worker.all('coord:heartbeat').length, { timeout: 10_000, interval: 50, message: 'five heartbeats while idle' })
      .toBeGreaterThanOrEqual(5);
    const beats = worker.all('coord:heartbeat');
    expect(beats.every((beat) => beat.workerId === 'w1' && beat.running.length === 0 && beat.rssBytes > 0)).toBe(true);
  });

  it('refuses a hello with another protocol version and exits 1', async () => {
    worker.send({ type: 'coord:hello', protocolVersion: PROTOCOL_VERSION + 1, workerId: 'w1', worktree: repo.worktree, repoRoot: repo.repo,
      heartbeatMs: 200, moduleThreads: 1, killGraceMs: 500, runId: TEST_RUN_ID });
    const error = await worker.waitFor('coord:protocol-error');
    expect(error.refusedType).toBe('coord:hello');
    expect(error.message).toMatch(/version/);
    expect((await worker.exited).code).toBe(1);
    expect(worker.all('coord:ready')).toEqual([]);
  });

  it('answers garbage where a reply is due, ignores the rest, and keeps working', async () => {
    worker.send({ type: 'coord:assign' });
    worker.send(42);
    worker.send({ type: 'nope' });
    worker.send('coord:hello');
    worker.send({ type: 'coord:cancel', taskId: '../etc', attempt: 1, lease: 'x', reason: 'r' });
    const first = await worker.waitFor('coord:protocol-error', (m) => m.refusedType === 'coord:assign');
    expect(first.code).toBe('PROTOCOL_INVALID');
    await worker.waitFor('coord:protocol-error', (m) => m.refusedType === 'coord:cancel');

    await worker.start(repo.worktree);
    worker.send({ type: 'coord:hello' }); // malformed hello after ready: answered, not fatal
    worker.send(null);
    worker.send(runAssign(repo, 'after-garbage', [process.execPath, FAKE_AGENT, '--print', 'still alive']));
    const final = await worker.final('after-garbage');
    expect(final.type).toBe('coord:complete');

    const errors = worker.all('coord:protocol-error');
    // assign, cancel, and the malformed hello: the number, the string, `nope` and null get none.
    expect(errors.map((m) => m.refusedType).sort()).toEqual(['coord:assign', 'coord:cancel', 'coord:hello']);
    // Every refusal is counted and logged as one JSON line: five before hello, two after.
    const counts = [...worker.stderr.matchAll(/"refusedCount":(\d+)/g)].map((match) => Number(match[1]));
    expect(counts).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(worker.child.exitCode).toBeNull();
  });

  it('answers a duplicate hello with a protocol error and stays up', async () => {
    await worker.start(repo.worktree);
    worker.send({ type: 'coord:hello', protocolVersion: PROTOCOL_VERSION, workerId: 'w1', worktree: repo.worktree, repoRoot: repo.repo,
      heartbeatMs: 200, moduleThreads: 1, killGraceMs: 500, runId: TEST_RUN_ID });
    const error = await worker.waitFor('coord:protocol-error');
    expect(error.message).toMatch(/duplicate/);
    expect(worker.all('coord:ready')).toHaveLength(1);
  });

  it('refuses an assign that arrives before hello', async () => {
    worker.send(runAssign(repo, 'too-early', ['true']));
    const error = await worker.waitFor('coord:protocol-error');
    expect(error).toMatchObject({ refusedType: 'coord:assign', message: expect.stringMatching(/before coord:hello/) });
  });
});
