/**
 * The outcome path on its own: every report and supervisor-side finding becomes one store
 * change and the events that say so, in order; stale leases change nothing.
 */
import { describe, expect, it } from 'vitest';
import { makeCore } from './core-harness.js';

describe('outcomes: what workers report', () => {
  it('started → running, complete → complete; events in order, the run settles', async () => {
    const core = await makeCore({ workers: ['w1'] });
    await core.submit([{ id: 'a', run: ['true'] }]);
    await core.settle();
    await core.start('a');
    expect((await core.store.get('a'))?.status).toBe('running');
    await core.complete('a');
    await core.settle();
    expect((await core.store.get('a'))?.status).toBe('complete');
    expect(core.seen).toEqual(['submitted a', 'assigned a@w1#1', 'started a@w1', 'complete a@w1', 'settled ']);
  });

  it('a retryable failure retries; one that a report narrows is dead at once, its dependents blocked', async () => {
    const core = await makeCore({ workers: ['w1'] });
    await core.submit([{ id: 'a', run: ['false'] }, { id: 'b', run: ['true'], deps: ['a'] }, { id: 'c', run: ['true'], deps: ['b'] }]);
    await core.settle();
    await core.fail('a', 'TASK_EXIT_NONZERO');
    await core.settle();
    expect(core.assignOf('a').attempt).toBe(2);
    await core.fail('a', 'TASK_EXIT_NONZERO', false);
    await core.settle();
    expect(core.seen.slice(-5)).toEqual([
      'failed a TASK_EXIT_NONZERO', 'dead a TASK_EXIT_NONZERO', 'blocked b DEP_DEAD', 'blocked c DEP_DEAD', 'settled ',
    ]);
    expect(core.seen).toContain('failed a TASK_EXIT_NONZERO retry');
  });

  it('a report cannot widen retryability: a code the policy calls final is dead whatever the report says', async () => {
    const core = await makeCore({ workers: ['w1'] });
    await core.submit([{ id: 'a', run: ['nope'] }]);
    await core.settle();
    await core.fail('a', 'TASK_SPAWN_FAILED', true);
    expect((await core.store.get('a'))?.status).toBe('dead');
  });

  it('ignores a result whose lease is no longer current: nothing changes, nothing is said', async () => {
    const core = await makeCore({ workers: ['w1'] });
    await core.submit([{ id: 'a', run: ['true'] }]);
    await core.settle();
    const first = core.assignOf('a');
    await core.outcomes.release('a', first.lease, 'drain deadline reached');
    await core.settle();
    const before = [...core.seen];
    await core.outcomes.report('w1', { ...first, type: 'coord:complete', exitCode: 0, result: null, commit: null, durationMs: 1 });
    await core.outcomes.report('w1', { ...first, type: 'coord:started', pid: 1 });
    expect(core.seen).toEqual(before);
    expect((await core.store.get('a'))?.status).not.toBe('complete');
  });

  it('a worktree that cannot be prepared is charged to the workspace: the task goes back unburnt, the worker leaves service', async () => {
    const core = await makeCore({ workers: ['w1', 'w2'] });
    await core.submit([{ id: 'a', run: ['true'] }]);
    await core.settle();
    const first = core.assignOf('a');
    await core.fail('a', 'WORKTREE_FAILED');
    await core.settle();
    expect(core.workers.retired.get(first.workerId)).toMatch(/^WORKTREE_FAILED: /);
    const second = core.assignOf('a');
    expect(second.workerId).not.toBe(first.workerId);
    expect(second.attempt).toBe(1);
    expect(core.seen).toContain(`released a (the worktree of ${first.workerId} could not be prepared)`);
    expect(core.seen.filter((line) => line.startsWith('failed'))).toEqual([]);
  });

  it('usage counts only for the current lease', async () => {
    const core = await makeCore({ workers: ['w1'] });
    await core.submit([{ id: 'a', run: ['true'] }]);
    await core.settle();
    const a = core.assignOf('a');
    await core.outcomes.report('w1', { type: 'coord:usage', taskId: 'a', attempt: 1, lease: a.lease, inputTokens: 10, outputTokens: 5, costUsd: 0.5 });
    await core.outcomes.report('w1', { type: 'coord:usage', taskId: 'a', attempt: 1, lease: 'stale', inputTokens: 99, outputTokens: 99, costUsd: 9 });
    expect(core.outcomes.usage.of('a')).toEqual({ inputTokens: 10, outputTokens: 5, cacheReadTokens: 0, cacheWriteTokens: 0, costUsd: 0.5 });
    expect(core.outcomes.usage.totals().byWorker['w1']?.costUsd).toBe(0.5);
  });
});

describe('outcomes: what the supervisor finds', () => {
  it('a crashed worker fails the attempt retryably; a hung one starts a fallback chain back on the same worker', async () => {
    const core = await makeCore({ workers: ['w1', 'w2'] });
    await core.submit([{ id: 'a', run: ['true'] }, { id: 'b', run: ['true'] }]);
    await core.settle();
    const a = core.assignOf('a');
    core.workers.free(a.workerId);
    await core.outcomes.lost(a.workerId, a, { code: null, signal: 'SIGKILL', hung: false });
    const b = core.assignOf('b');
    core.workers.free(b.workerId);
    await core.outcomes.lost(b.workerId, b, { code: null, signal: 'SIGKILL', hung: true });
    await core.settle();
    expect(core.seen).toContain('failed a WORKER_CRASHED retry');
    expect(core.seen).toContain('failed b WORKER_HUNG retry');
    expect(core.fallbacks.placement('b')).toMatchObject({ only: b.workerId });
    expect(core.fallbacks.placement('a')).toBeNull();
    expect(core.assignOf('b').workerId).toBe(b.workerId);
  });

  it('a push that fails fails the attempt retryably (GIT_PUSH_FAILED) and records no completion', async () => {
    const core = await makeCore({
      workers: ['w1'], publisher: { publishing: true, share: async () => Promise.reject(new Error('remote hung up')), advertise: async () => {} },
    });
    await core.submit([{ id: 'a', run: ['true'] }]);
    await core.settle();
    await core.complete('a');
    expect(core.seen).toContain('failed a GIT_PUSH_FAILED retry');
    expect((await core.store.get('a'))?.status).not.toBe('complete');
  });

  it('an attempt whose lease was lost during its push never moves the branch; the recorded one does', async () => {
    const pushes: string[] = [];
    let releaseShare: () => void = () => {};
    const held = new Promise<void>((resolve) => (releaseShare = resolve));
    const core = await makeCore({
      workers: ['w1', 'w2'],
      publisher: {
        publishing: true,
        share: async (commit) => {
          pushes.push(`share ${commit.slice(0, 1)}`);
          if (pushes.length === 1) await held; // the first attempt's push is slow
        },
        advertise: async (branch, commit) => void pushes.push(`advertise ${branch} ${commit.slice(0, 1)}`),
      },
    });
    await core.submit([{ id: 't', run: ['true'] }]);
    await core.settle();
    const first = core.assignOf('t');
    core.workers.free(first.workerId);
    const late = core.outcomes.report(first.workerId, { ...first, type: 'coord:complete', exitCode: 0, result: null, commit: 'b'.repeat(40), durationMs: 1 });
    // Meanwhile the lease is lost and the task runs again and completes.
    await core.outcomes.release('t', first.lease, 'lease lost');
    await core.settle();
    const second = core.assignOf('t');
    core.workers.free(second.workerId);
    await core.outcomes.report(second.workerId, { ...second, type: 'coord:complete', exitCode: 0, result: null, commit: 'c'.repeat(40), durationMs: 1 });
    releaseShare();
    await late;
    expect(pushes).toEqual(['share b', 'share c', 'advertise coord/t c']);
    expect((await core.store.get('t'))?.commit).toBe('c'.repeat(40));
  });

  it('reaped leases are failed attempts (LEASE_EXPIRED), dead ones block their dependents', async () => {
    const core = await makeCore({ workers: ['w1'], maxAttempts: 1 });
    await core.submit([{ id: 'a', run: ['true'] }, { id: 'b', run: ['true'], deps: ['a'] }]);
    await core.settle();
    core.clock.now += 120_000;
    await core.outcomes.reaped(await core.store.reapExpired(core.clock.now));
    expect(core.seen.slice(-4)).toEqual(['failed a LEASE_EXPIRED', 'dead a LEASE_EXPIRED', 'blocked b DEP_DEAD', 'settled ']);
  });

  it('cancelling in flight releases each task unburnt and asks its worker to cancel it', async () => {
    const core = await makeCore({ workers: ['w1', 'w2'] });
    await core.submit([{ id: 'a', run: ['true'] }, { id: 'b', run: ['true'] }]);
    await core.settle();
    core.setAccepting(false);
    await core.outcomes.cancelInFlight('stop requested');
    expect(core.workers.cancelled.map((c) => c.taskId).sort()).toEqual(['a', 'b']);
    expect(core.seen.filter((line) => line.startsWith('released')).sort()).toEqual(['released a (stop requested)', 'released b (stop requested)']);
    expect((await core.store.get('a'))?.attempts).toHaveLength(0);
  });
});

describe('outcomes: submissions and redrives take the same path', () => {
  it('a task submitted after its dependency died is announced blocked at submission', async () => {
    const core = await makeCore({ workers: ['w1'], maxAttempts: 1 });
    await core.submit([{ id: 'a', run: ['false'] }]);
    await core.settle();
    await core.fail('a', 'TASK_EXIT_NONZERO');
    await core.submit([{ id: 'late', run: ['true'], deps: ['a'] }]);
    expect(core.seen.slice(-3)).toEqual(['submitted late', 'blocked late DEP_DEAD', 'settled ']);
  });

  it('a redrive is announced with what it changed, and the task runs again', async () => {
    const core = await makeCore({ workers: ['w1'], maxAttempts: 1 });
    await core.submit([{ id: 'a', run: ['false'] }, { id: 'b', run: ['true'], deps: ['a'] }]);
    await core.settle();
    await core.fail('a', 'TASK_EXIT_NONZERO');
    await core.settle();
    expect(await core.outcomes.redrive('a')).toEqual(['a', 'b']);
    await core.settle();
    expect(core.seen).toContain('redriven a: a,b');
    expect(core.assignOf('a').attempt).toBe(2);
    expect(await core.outcomes.redrive('a')).toEqual([]);
  });
});
