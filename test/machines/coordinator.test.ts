import { describe, expect, it, vi } from 'vitest';
import { createActor, fromCallback, fromPromise, SimulatedClock, type NonReducibleUnknown } from 'xstate';
import {
  coordinatorMachine,
  coordinatorStateOf,
  toCoordinatorError,
  type CoordinatorActionParams,
  type InitializeOutput,
  type StopWorkersInput,
} from '../../machines/coordinator.js';
import { workerMachine, type ProcessCommand, type RunProcessInput } from '../../machines/worker.js';

const WORKERS: InitializeOutput['workers'] = [
  { workerId: 'w1', worktree: '/repo/.coord/w1', capabilities: ['node'] },
  { workerId: 'w2', worktree: '/repo/.coord/w2', capabilities: [] },
];

/** A promise actor whose every run the test settles by hand. */
function controlled<T, I = NonReducibleUnknown>() {
  const runs: Array<{ input: I; resolve: (value: T) => void; reject: (error: unknown) => void }> = [];
  const logic = fromPromise<T, I>(
    ({ input }) => new Promise<T>((resolve, reject) => void runs.push({ input, resolve, reject })),
  );
  return { logic, runs };
}

/** Lets settled promises reach the actor (no clock involved: all microtasks run first). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

function start(drainDeadlineMs = 30_000) {
  const initialize = controlled<InitializeOutput>();
  const awaitIdle = controlled<void>();
  const stopWorkers = controlled<void, StopWorkersInput>();
  const closeResources = controlled<void>();
  const cancelInFlight = vi.fn((_args: unknown, _params: CoordinatorActionParams['cancelInFlight']): void => {});
  const quietProcess = fromCallback<ProcessCommand, RunProcessInput>(() => {});
  const machine = coordinatorMachine.provide({
    actors: {
      initialize: initialize.logic,
      worker: workerMachine.provide({ actors: { runProcess: quietProcess } }),
      awaitIdle: awaitIdle.logic,
      stopWorkers: stopWorkers.logic,
      closeResources: closeResources.logic,
    },
    actions: { cancelInFlight },
  });
  const clock = new SimulatedClock();
  const actor = createActor(machine, { input: { drainDeadlineMs }, clock }).start();
  const state = () => coordinatorStateOf(actor.getSnapshot());
  return { actor, clock, state, initialize, awaitIdle, stopWorkers, closeResources, cancelInFlight };
}

async function startRunning(drainDeadlineMs?: number) {
  const c = start(drainDeadlineMs);
  c.initialize.runs[0]?.resolve({ workers: WORKERS });
  await settle();
  return c;
}

describe('coordinatorMachine: init', () => {
  it('spawns one worker child per entry and keeps the refs in context', async () => {
    const c = start();
    expect(c.state()).toBe('init');
    c.initialize.runs[0]?.resolve({ workers: WORKERS });
    await settle();
    const snap = c.actor.getSnapshot();
    expect(c.state()).toBe('running');
    expect(snap.context.workers.map((w) => w.workerId)).toEqual(['w1', 'w2']);
    for (const [i, { workerId, ref }] of snap.context.workers.entries()) {
      expect(ref.id).toBe(workerId);
      expect(snap.children[workerId]).toBe(ref);
      expect(ref.getSnapshot().context).toMatchObject(WORKERS[i] ?? {});
      expect(ref.getSnapshot().value).toBe('spawning');
    }
  });

  it.each([
    ['a string code', Object.assign(new Error('bad config'), { code: 'CONFIG_INVALID' }), 'CONFIG_INVALID', 'bad config'],
    ['no code', new Error('boom'), 'INTERNAL', 'boom'],
    ['a numeric code', Object.assign(new Error('eacces'), { code: 13 }), 'INTERNAL', 'eacces'],
    ['a non-error', 'just text', 'INTERNAL', 'just text'],
  ])('initialize rejecting with %s → failed with that error', async (_name, error, code, message) => {
    const c = start();
    c.initialize.runs[0]?.reject(error);
    await settle();
    expect(c.state()).toBe('failed');
    expect(c.actor.getSnapshot().status).toBe('done');
    expect(c.actor.getSnapshot().context.error).toEqual({ code, message });
  });
});

describe('coordinatorMachine: running', () => {
  it('coordinator.drain → draining.finishing with the default deadline', async () => {
    const c = await startRunning(30_000);
    c.actor.send({ type: 'coordinator.drain' });
    expect(c.actor.getSnapshot().value).toEqual({ draining: 'finishing' });
    expect(c.actor.getSnapshot().context.drainDeadlineMs).toBe(30_000);
    expect(c.awaitIdle.runs).toHaveLength(1);
  });

  it('coordinator.drain takes the deadline from the event', async () => {
    const c = await startRunning(30_000);
    c.actor.send({ type: 'coordinator.drain', deadlineMs: 1_000 });
    expect(c.actor.getSnapshot().context.drainDeadlineMs).toBe(1_000);
    c.clock.increment(1_000);
    expect(c.actor.getSnapshot().value).toEqual({ draining: 'stoppingWorkers' });
  });

  it('coordinator.stop cancels in-flight tasks and goes straight to stoppingWorkers', async () => {
    const c = await startRunning();
    c.actor.send({ type: 'coordinator.stop' });
    expect(c.actor.getSnapshot().value).toEqual({ draining: 'stoppingWorkers' });
    expect(c.cancelInFlight).toHaveBeenCalledOnce();
    expect(c.cancelInFlight.mock.calls[0]?.[1]).toEqual({ reason: 'stop' });
    expect(c.awaitIdle.runs).toHaveLength(0);
    expect(c.stopWorkers.runs).toHaveLength(1);
  });

  it('records failed workers once and fails when every worker has failed', async () => {
    const c = await startRunning();
    c.actor.send({ type: 'worker.failed', workerId: 'w1' });
    c.actor.send({ type: 'worker.failed', workerId: 'w1' });
    expect(c.state()).toBe('running');
    expect(c.actor.getSnapshot().context.failedWorkers).toEqual(['w1']);
    c.actor.send({ type: 'worker.failed', workerId: 'w2' });
    const snap = c.actor.getSnapshot();
    // It still stops the workers and closes resources before ending in failed.
    expect(snap.value).toEqual({ draining: 'stoppingWorkers' });
    expect(snap.context.failedWorkers).toEqual(['w1', 'w2']);
    expect(snap.context.error?.code).toBe('ALL_WORKERS_FAILED');
    c.stopWorkers.runs[0]?.resolve();
    await settle();
    expect(c.actor.getSnapshot().value).toEqual({ draining: 'closing' });
    c.closeResources.runs[0]?.resolve();
    await settle();
    expect(c.state()).toBe('failed');
    expect(c.actor.getSnapshot().context.error?.code).toBe('ALL_WORKERS_FAILED');
  });

  it('does not count a failure report for an unknown worker as all failed', async () => {
    const c = await startRunning();
    c.actor.send({ type: 'worker.failed', workerId: 'w1' });
    c.actor.send({ type: 'worker.failed', workerId: 'ghost' });
    expect(c.state()).toBe('running');
  });

  it('never fails for all workers when there are none', async () => {
    const c = start();
    c.initialize.runs[0]?.resolve({ workers: [] });
    await settle();
    c.actor.send({ type: 'worker.failed', workerId: 'w1' });
    expect(c.state()).toBe('running');
  });
});

describe('coordinatorMachine: draining', () => {
  it('finishes, stops the workers with their refs, closes, and stops', async () => {
    const c = await startRunning();
    c.actor.send({ type: 'coordinator.drain' });
    c.awaitIdle.runs[0]?.resolve();
    await settle();
    expect(c.actor.getSnapshot().value).toEqual({ draining: 'stoppingWorkers' });
    const refs = c.actor.getSnapshot().context.workers.map((w) => w.ref);
    expect(c.stopWorkers.runs[0]?.input.workers).toEqual(refs);
    expect(refs).toHaveLength(2);
    c.stopWorkers.runs[0]?.resolve();
    await settle();
    expect(c.actor.getSnapshot().value).toEqual({ draining: 'closing' });
    c.closeResources.runs[0]?.resolve();
    await settle();
    expect(c.state()).toBe('stopped');
    expect(c.actor.getSnapshot().status).toBe('done');
    expect(c.cancelInFlight).not.toHaveBeenCalled();
  });

  it('cancels in-flight tasks when the drain deadline passes', async () => {
    const c = await startRunning(10_000);
    c.actor.send({ type: 'coordinator.drain' });
    c.clock.increment(9_999);
    expect(c.actor.getSnapshot().value).toEqual({ draining: 'finishing' });
    expect(c.cancelInFlight).not.toHaveBeenCalled();
    c.clock.increment(1);
    expect(c.actor.getSnapshot().value).toEqual({ draining: 'stoppingWorkers' });
    expect(c.cancelInFlight.mock.calls[0]?.[1]).toEqual({ reason: 'drain-deadline' });
  });

  it('cancels in-flight tasks when awaitIdle fails', async () => {
    const c = await startRunning();
    c.actor.send({ type: 'coordinator.drain' });
    c.awaitIdle.runs[0]?.reject(new Error('store gone'));
    await settle();
    expect(c.actor.getSnapshot().value).toEqual({ draining: 'stoppingWorkers' });
    expect(c.cancelInFlight.mock.calls[0]?.[1]).toEqual({ reason: 'drain-deadline' });
  });

  it('coordinator.stop while finishing cancels in-flight tasks', async () => {
    const c = await startRunning();
    c.actor.send({ type: 'coordinator.drain' });
    c.actor.send({ type: 'coordinator.stop' });
    expect(c.actor.getSnapshot().value).toEqual({ draining: 'stoppingWorkers' });
    expect(c.cancelInFlight.mock.calls[0]?.[1]).toEqual({ reason: 'stop' });
  });

  it('ignores a second coordinator.drain: the first deadline stands', async () => {
    const c = await startRunning(10_000);
    c.actor.send({ type: 'coordinator.drain' });
    c.clock.increment(5_000);
    c.actor.send({ type: 'coordinator.drain', deadlineMs: 60_000 });
    expect(c.actor.getSnapshot().context.drainDeadlineMs).toBe(10_000);
    expect(c.awaitIdle.runs).toHaveLength(1);
    c.clock.increment(5_000);
    expect(c.actor.getSnapshot().value).toEqual({ draining: 'stoppingWorkers' });
  });

  it('records worker failures without leaving draining', async () => {
    const c = await startRunning();
    c.actor.send({ type: 'coordinator.drain' });
    c.actor.send({ type: 'worker.failed', workerId: 'w1' });
    c.actor.send({ type: 'worker.failed', workerId: 'w2' });
    expect(c.actor.getSnapshot().value).toEqual({ draining: 'finishing' });
    expect(c.actor.getSnapshot().context.failedWorkers).toEqual(['w1', 'w2']);
    expect(c.actor.getSnapshot().context.error).toBeNull();
  });

  it('closes resources even when stopping the workers fails', async () => {
    const c = await startRunning();
    c.actor.send({ type: 'coordinator.stop' });
    c.stopWorkers.runs[0]?.reject(new Error('w2 would not stop'));
    await settle();
    expect(c.actor.getSnapshot().value).toEqual({ draining: 'closing' });
    expect(c.closeResources.runs).toHaveLength(1);
  });

  it('fails with the error when closing resources fails', async () => {
    const c = await startRunning();
    c.actor.send({ type: 'coordinator.stop' });
    c.stopWorkers.runs[0]?.resolve();
    await settle();
    c.closeResources.runs[0]?.reject(Object.assign(new Error('disk full'), { code: 'DISK_FULL' }));
    await settle();
    expect(c.state()).toBe('failed');
    expect(c.actor.getSnapshot().context.error).toEqual({ code: 'DISK_FULL', message: 'disk full' });
  });
});

describe('coordinatorMachine: a fault (the store or the disk failed)', () => {
  const fault = { code: 'STORE_CORRUPT' as const, message: 'the store is corrupt' };

  it('drains, keeps the first fault, and ends failed even when closing fails too', async () => {
    const c = await startRunning();
    c.actor.send({ type: 'coordinator.fault', error: fault });
    expect(c.actor.getSnapshot().value).toEqual({ draining: 'finishing' });
    expect(c.cancelInFlight).not.toHaveBeenCalled();
    c.awaitIdle.runs[0]?.resolve();
    await settle();
    c.actor.send({ type: 'coordinator.fault', error: { code: 'DISK_FULL', message: 'later' } });
    c.stopWorkers.runs[0]?.resolve();
    await settle();
    c.closeResources.runs[0]?.reject(Object.assign(new Error('still corrupt'), { code: 'STORE_UNAVAILABLE' }));
    await settle();
    expect(c.state()).toBe('failed');
    expect(c.actor.getSnapshot().context.error).toEqual(fault);
  });

  it('a second fault while finishing stops at once', async () => {
    const c = await startRunning();
    c.actor.send({ type: 'coordinator.fault', error: fault });
    c.actor.send({ type: 'coordinator.fault', error: fault });
    expect(c.actor.getSnapshot().value).toEqual({ draining: 'stoppingWorkers' });
    expect(c.cancelInFlight.mock.calls[0]?.[1]).toEqual({ reason: 'stop' });
    c.stopWorkers.runs[0]?.resolve();
    await settle();
    c.closeResources.runs[0]?.resolve();
    await settle();
    expect(c.state()).toBe('failed');
    expect(c.actor.getSnapshot().context.error).toEqual(fault);
  });

  it('a fault during a user drain makes the run end failed', async () => {
    const c = await startRunning();
    c.actor.send({ type: 'coordinator.drain' });
    c.awaitIdle.runs[0]?.resolve();
    await settle();
    c.actor.send({ type: 'coordinator.fault', error: fault });
    c.stopWorkers.runs[0]?.resolve();
    await settle();
    c.closeResources.runs[0]?.resolve();
    await settle();
    expect(c.state()).toBe('failed');
  });
});

describe('coordinatorStateOf', () => {
  it('names the top-level state of every snapshot', async () => {
    const c = start();
    expect(coordinatorStateOf(c.actor.getSnapshot())).toBe('init');
    c.initialize.runs[0]?.resolve({ workers: WORKERS });
    await settle();
    expect(coordinatorStateOf(c.actor.getSnapshot())).toBe('running');
    c.actor.send({ type: 'coordinator.stop' });
    expect(coordinatorStateOf(c.actor.getSnapshot())).toBe('draining');
  });
});

describe('toCoordinatorError', () => {
  it('keeps a string code and the message, else INTERNAL', () => {
    expect(toCoordinatorError(Object.assign(new Error('x'), { code: 'TASK_CYCLE' }))).toEqual({ code: 'TASK_CYCLE', message: 'x' });
    expect(toCoordinatorError({ code: 'STORE_CORRUPT' })).toEqual({ code: 'STORE_CORRUPT', message: '[object Object]' });
    // A code outside coord's closed set (a system errno, a library's) is not a coord code.
    expect(toCoordinatorError(Object.assign(new Error('no such file'), { code: 'ENOENT' }))).toEqual({ code: 'INTERNAL', message: 'no such file' });
    expect(toCoordinatorError(null)).toEqual({ code: 'INTERNAL', message: 'null' });
  });
});

describe('coordinatorMachine: live changes', () => {
  it('workers.add spawns more workers while running; workers.remove forgets a stopped one', async () => {
    const c = await startRunning();
    c.actor.send({ type: 'workers.add', workers: [{ workerId: 'w3', worktree: '/repo/.coord/w3', capabilities: [] }] });
    const ids = () => c.actor.getSnapshot().context.workers.map((w) => w.workerId);
    expect(ids()).toEqual(['w1', 'w2', 'w3']);
    expect(c.actor.getSnapshot().children['w3']).toBeDefined();
    c.actor.send({ type: 'worker.failed', workerId: 'w1' });
    c.actor.send({ type: 'workers.remove', workerId: 'w1' });
    expect(ids()).toEqual(['w2', 'w3']);
    expect(c.actor.getSnapshot().context.failedWorkers).toEqual([]);
    // w2 and w3 failing is all workers failing: the removed one does not count any more.
    c.actor.send({ type: 'worker.failed', workerId: 'w2' });
    expect(c.state()).toBe('running');
    c.actor.send({ type: 'worker.failed', workerId: 'w3' });
    expect(c.state()).toBe('draining');
  });

  it('ignores workers.add once draining', async () => {
    const c = await startRunning();
    c.actor.send({ type: 'coordinator.drain' });
    c.actor.send({ type: 'workers.add', workers: [{ workerId: 'w3', worktree: '/repo/.coord/w3', capabilities: [] }] });
    expect(c.actor.getSnapshot().context.workers).toHaveLength(2);
  });

  it('coordinator.configure changes the default drain deadline and the breaker defaults', async () => {
    const c = await startRunning(30_000);
    c.actor.send({ type: 'coordinator.configure', drainDeadlineMs: 1_000, breaker: { failureThreshold: 2 } });
    expect(c.actor.getSnapshot().context.drainDeadlineMs).toBe(1_000);
    expect(c.actor.getSnapshot().context.breaker).toEqual({ failureThreshold: 2 });
    c.actor.send({ type: 'coordinator.drain' });
    c.clock.increment(1_000);
    expect(c.cancelInFlight).toHaveBeenCalledWith(expect.anything(), { reason: 'drain-deadline' });
  });
});
