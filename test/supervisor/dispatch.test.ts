/**
 * Dispatch on its own: which task goes to which worker, what the hand-over carries, and what
 * happens when a hand-over cannot happen — always said through the outcome path.
 */
import { describe, expect, it } from 'vitest';
import { makeCore, SHA } from './core-harness.js';

describe('dispatch: placing ready tasks', () => {
  it('hands the highest-priority ready tasks to idle workers, one each, with branch, start commit and log file', async () => {
    const core = await makeCore({ workers: ['w1', 'w2'] });
    await core.submit([{ id: 'low', run: ['true'] }, { id: 'high', run: ['true'], priority: 5 }, { id: 'mid', run: ['true'], priority: 1 }]);
    await core.settle();
    expect(core.workers.assigned.map((a) => `${a.taskId}@${a.workerId}`)).toEqual(['high@w1', 'mid@w2']);
    expect(core.assignOf('high')).toMatchObject({
      type: 'coord:assign', attempt: 1, branch: 'coord/high', startCommit: SHA, logFile: '/tmp/coord-core-test/high/attempt-1.log',
      exec: { kind: 'run', argv: ['true'] },
    });
    await core.complete('high');
    await core.settle();
    expect(core.assignOf('low').workerId).toBe('w1');
  });

  it('assigns nothing while not accepting (draining), and resumes when asked again', async () => {
    const core = await makeCore({ workers: ['w1'] });
    core.setAccepting(false);
    await core.submit([{ id: 'a', run: ['true'] }]);
    await core.settle();
    expect(core.workers.assigned).toEqual([]);
    expect((await core.store.get('a'))?.status).toBe('ready');
    core.setAccepting(true);
    core.dispatcher.schedule();
    await core.settle();
    expect(core.assignOf('a').workerId).toBe('w1');
  });

  it('a worker gone before the hand-over gets nothing: the task goes back unburnt and runs elsewhere', async () => {
    const core = await makeCore({ workers: ['w1', 'w2'] });
    core.workers.refusing.add('w1');
    await core.submit([{ id: 'a', run: ['true'] }]);
    await core.settle();
    expect(core.seen).toContain('released a (worker unavailable)');
    expect(core.assignOf('a')).toMatchObject({ workerId: 'w2', attempt: 1 });
  });
});

describe('dispatch: hand-overs that cannot happen', () => {
  it('a start commit git cannot make fails the attempt for good (GIT_FAILED); a missing dependency commit is retried', async () => {
    let missing = true;
    const core = await makeCore({
      workers: ['w1', 'w2'],
      startCommit: async (taskId) => {
        if (taskId === 'broken') throw Object.assign(new Error('fatal: bad object'), { code: 'GIT_FAILED' });
        if (missing) {
          missing = false;
          throw Object.assign(new Error('dep commit not fetched yet'), { code: 'DEP_COMMIT_MISSING', [Symbol.for('coord.error')]: true });
        }
        return { ok: true, commit: SHA };
      },
    });
    await core.submit([{ id: 'later', run: ['true'], priority: 1 }, { id: 'broken', run: ['true'] }]);
    await core.settle();
    expect(core.seen).toContain('failed later DEP_COMMIT_MISSING retry');
    expect(core.seen).toContain('dead broken GIT_FAILED');
    expect(core.assignOf('later').attempt).toBe(2);
  });

  it('dependencies whose branches conflict block the task, naming the files', async () => {
    const core = await makeCore({
      workers: ['w1'],
      startCommit: async (taskId) => (taskId === 'c' ? { ok: false, conflict: { between: ['a', 'b'], files: ['x.txt'] } } : { ok: true, commit: SHA }),
    });
    await core.submit([{ id: 'a', run: ['true'] }, { id: 'b', run: ['true'] }, { id: 'c', run: ['true'], deps: ['a', 'b'] }]);
    await core.settle();
    await core.complete('a');
    await core.settle();
    await core.complete('b');
    await core.settle();
    const c = await core.store.get('c');
    expect(c?.status).toBe('blocked');
    expect(c?.error).toMatchObject({ code: 'DEP_CONFLICT', details: { between: ['a', 'b'], files: ['x.txt'] } });
    expect(core.seen).toContain('blocked c DEP_CONFLICT');
  });
});

describe('dispatch: breakers', () => {
  it('an open command breaker holds its tasks back (said once per hold) while other commands run', async () => {
    const core = await makeCore({ workers: ['w1'], maxAttempts: 1, breaker: { failureThreshold: 2, openMs: 600_000 } });
    await core.submit([
      { id: 'f1', run: ['false'], priority: 9 }, { id: 'f2', run: ['false'], priority: 8 }, { id: 'f3', run: ['false'], priority: 7 },
      { id: 'ok', run: ['true'] },
    ]);
    await core.settle();
    await core.fail('f1', 'TASK_EXIT_NONZERO');
    await core.settle();
    await core.fail('f2', 'TASK_EXIT_NONZERO');
    await core.settle();
    expect(core.assignOf('ok').workerId).toBe('w1');
    await core.complete('ok');
    await core.settle();
    expect(core.seen.filter((line) => line.startsWith('held'))).toEqual(['held f3 by command:false']);
    expect((await core.store.get('f3'))?.attempts).toHaveLength(0);
    expect(core.breakers.describe()).toContainEqual({ scope: 'command:false', state: 'open' });
  });

  it('failures charged to the supervisor (a cancel) trip no breaker', async () => {
    const core = await makeCore({ workers: ['w1'], maxAttempts: 5, breaker: { failureThreshold: 1, openMs: 600_000 } });
    await core.submit([{ id: 'a', run: ['sleep', '1'] }]);
    await core.settle();
    await core.fail('a', 'TASK_CANCELLED');
    await core.settle();
    expect(core.breakers.describe().every((b) => b.state === 'closed')).toBe(true);
    expect(core.assignOf('a').attempt).toBe(2);
  });
});
