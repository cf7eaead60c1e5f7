import { describe, expect, it } from 'vitest';
import { RunningTasks } from '../../workers/running-tasks.js';

const ref = { taskId: 't1', attempt: 1, lease: 'L1' };

describe('RunningTasks', () => {
  it('cancels only with the matching lease and forgets a task once it settles', async () => {
    const tasks = new RunningTasks();
    let seen: AbortSignal | null = null;
    let finish = (): void => undefined;
    tasks.start(ref, (signal) => {
      seen = signal;
      return new Promise<void>((resolve) => {
        finish = resolve;
      });
    });
    expect(tasks.ids()).toEqual(['t1']);
    expect(tasks.leaseOf('t1')).toBe('L1');
    expect(tasks.cancel('t1', 'L0', 'stale')).toBe('lease-mismatch');
    expect(seen!.aborted).toBe(false);
    expect(tasks.cancel('other', 'L1', 'x')).toBe('not-running');
    expect(tasks.cancel('t1', 'L1', 'asked')).toBe('cancelled');
    expect(seen!.aborted).toBe(true);
    expect(seen!.reason).toEqual({ reason: 'asked', graceful: 'SIGTERM' });
    finish();
    expect(await tasks.settled(1_000)).toBe(true);
    expect(tasks.size).toBe(0);
    expect(tasks.leaseOf('t1')).toBeNull();
  });

  it('refuses to start a task id twice, and survives a run that rejects', async () => {
    const tasks = new RunningTasks();
    tasks.start(ref, () => Promise.reject(new Error('reported elsewhere')));
    expect(() => tasks.start(ref, () => Promise.resolve())).toThrow(/already running/);
    expect(await tasks.settled(1_000)).toBe(true);
    expect(tasks.size).toBe(0);
  });

  it('settled() gives up after the timeout', async () => {
    const tasks = new RunningTasks();
    tasks.start(ref, () => new Promise<void>(() => undefined));
    expect(await tasks.settled(50)).toBe(false);
    tasks.cancelAll('shutdown');
  });
});
