import { describe, expect, it, vi } from 'vitest';
import { createActor, fromCallback, SimulatedClock } from 'xstate';
import type { ParentMessageOf, WorkerMessageOf } from '../../src/protocol/messages.js';
import {
  SHUTDOWN_GRACE_MS,
  workerMachine,
  type ProcessCommand,
  type RunProcessInput,
  type TaskLease,
  type WorkerActionParams,
  type WorkerContext,
} from '../../machines/worker.js';

const INPUT = { workerId: 'w1', worktree: '/repo/.coord/w1', capabilities: ['node'] };
const TASK: TaskLease = { taskId: 'build', attempt: 1, lease: 'lease-1' };
const SHA = 'a'.repeat(40);

function assignMessage(task: TaskLease = TASK): ParentMessageOf<'coord:assign'> {
  return {
    type: 'coord:assign',
    ...task,
    exec: { kind: 'run', argv: ['true'], env: {} },
    branch: `coord/${task.taskId}`,
    startCommit: SHA,
    timeoutMs: null,
    logFile: '/tmp/build.log',
  };
}

function complete(task: TaskLease = TASK): WorkerMessageOf<'coord:complete'> {
  return { type: 'coord:complete', ...task, exitCode: 0, result: null, commit: SHA, durationMs: 5 };
}

function failed(task: TaskLease = TASK): WorkerMessageOf<'coord:failed'> {
  return {
    type: 'coord:failed',
    ...task,
    code: 'TASK_EXIT',
    message: 'exit 1',
    exitCode: 1,
    signal: null,
    retryable: true,
    retryAfterMs: null,
    commit: null,
    durationMs: 5,
  };
}

/** An action fake that records its params and the context it ran with. */
function reporter<P>() {
  return vi.fn((_args: { context: WorkerContext }, _params: P): void => {});
}

/** A worker actor on a simulated clock, with a fake process and recording reports. */
function start(delays?: Partial<Record<'spawnTimeout' | 'shutdownGrace' | 'killGrace', number>>) {
  const commands: ProcessCommand[] = [];
  const inputs: RunProcessInput[] = [];
  const cleanup = vi.fn();
  const runProcess = fromCallback<ProcessCommand, RunProcessInput>(({ input, receive }) => {
    inputs.push(input);
    receive((command) => commands.push(command));
    return cleanup;
  });
  const actions = {
    reportReady: reporter<WorkerActionParams['reportReady']>(),
    reportTaskResult: reporter<WorkerActionParams['reportTaskResult']>(),
    reportStaleResult: reporter<WorkerActionParams['reportStaleResult']>(),
    reportTaskLost: reporter<WorkerActionParams['reportTaskLost']>(),
    reportExit: reporter<WorkerActionParams['reportExit']>(),
  };
  const clock = new SimulatedClock();
  const machine = workerMachine.provide({ actors: { runProcess }, actions, ...(delays ? { delays } : {}) });
  const actor = createActor(machine, { input: INPUT, clock }).start();
  const signals = () => commands.flatMap((c) => (c.type === 'process.signal' ? [c.signal] : []));
  const sent = () => commands.flatMap((c) => (c.type === 'process.send' ? [c.message] : []));
  return { actor, clock, commands, inputs, cleanup, actions, signals, sent };
}

function startBusy() {
  const w = start();
  w.actor.send({ type: 'process.ready', pid: 42 });
  w.actor.send({ type: 'task.assign', message: assignMessage() });
  return w;
}

describe('workerMachine: spawning', () => {
  it('spawns the process with the worker input and waits for ready', () => {
    const { actor, inputs } = start();
    expect(actor.getSnapshot().value).toBe('spawning');
    expect(inputs).toEqual([INPUT]);
  });

  it('process.ready → idle, records the pid and reports ready', () => {
    const { actor, actions } = start();
    actor.send({ type: 'process.ready', pid: 42 });
    expect(actor.getSnapshot().value).toBe('idle');
    expect(actor.getSnapshot().context.pid).toBe(42);
    expect(actions.reportReady).toHaveBeenCalledOnce();
    expect(actions.reportReady.mock.calls[0]?.[1]).toEqual({ workerId: 'w1', pid: 42 });
  });

  it('process.exited → failed, records the exit, reports it and stops the child', () => {
    const { actor, actions, cleanup } = start();
    actor.send({ type: 'process.exited', code: 1, signal: null });
    const snap = actor.getSnapshot();
    expect(snap.value).toBe('failed');
    expect(snap.status).toBe('done');
    expect(snap.context.exit).toEqual({ code: 1, signal: null });
    expect(actions.reportExit.mock.calls[0]?.[1]).toEqual({
      workerId: 'w1',
      exit: { code: 1, signal: null },
      duringShutdown: false,
    });
    expect(actions.reportTaskLost).not.toHaveBeenCalled();
    expect(cleanup).toHaveBeenCalledOnce();
  });

  it('stops a worker that never says ready after spawnTimeout', () => {
    const { actor, clock, sent } = start();
    clock.increment(9_999);
    expect(actor.getSnapshot().value).toBe('spawning');
    clock.increment(1);
    expect(actor.getSnapshot().value).toEqual({ stopping: 'asking' });
    expect(sent()).toEqual([{ type: 'coord:shutdown', graceMs: SHUTDOWN_GRACE_MS }]);
    // Its exit is a failure, not an orderly stop.
    actor.send({ type: 'process.exited', code: null, signal: 'SIGTERM' });
    expect(actor.getSnapshot().value).toBe('failed');
  });

  it('uses delays given with .provide()', () => {
    const { actor, clock } = start({ spawnTimeout: 100 });
    clock.increment(100);
    expect(actor.getSnapshot().value).toEqual({ stopping: 'asking' });
  });

  it('worker.stop → stopping', () => {
    const { actor, sent } = start();
    actor.send({ type: 'worker.stop' });
    expect(actor.getSnapshot().value).toEqual({ stopping: 'asking' });
    expect(sent()).toEqual([{ type: 'coord:shutdown', graceMs: SHUTDOWN_GRACE_MS }]);
  });
});

describe('workerMachine: idle', () => {
  it('task.assign → busy, holds the lease and forwards the assign message', () => {
    const { actor, sent } = startBusy();
    expect(actor.getSnapshot().value).toBe('busy');
    expect(actor.getSnapshot().context.task).toEqual(TASK);
    expect(sent()).toEqual([assignMessage()]);
  });

  it('process.exited → failed without losing a task', () => {
    const { actor, actions, cleanup } = start();
    actor.send({ type: 'process.ready', pid: 42 });
    actor.send({ type: 'process.exited', code: null, signal: 'SIGSEGV' });
    expect(actor.getSnapshot().value).toBe('failed');
    expect(actor.getSnapshot().context.exit).toEqual({ code: null, signal: 'SIGSEGV' });
    expect(actions.reportExit).toHaveBeenCalledOnce();
    expect(actions.reportTaskLost).not.toHaveBeenCalled();
    expect(cleanup).toHaveBeenCalledOnce();
  });

  it('worker.stop → stopping', () => {
    const { actor } = start();
    actor.send({ type: 'process.ready', pid: 42 });
    actor.send({ type: 'worker.stop' });
    expect(actor.getSnapshot().value).toEqual({ stopping: 'asking' });
  });
});

describe('workerMachine: busy', () => {
  it.each([
    ['task.completed', { type: 'task.completed', message: complete() }],
    ['task.failed', { type: 'task.failed', message: failed() }],
  ] as const)('%s with the current lease → idle, reported before the task is cleared', (_name, event) => {
    const { actor, actions } = startBusy();
    actor.send(event);
    expect(actor.getSnapshot().value).toBe('idle');
    expect(actor.getSnapshot().context.task).toBeNull();
    const [args, params] = actions.reportTaskResult.mock.calls[0] ?? [];
    expect(params).toEqual({ workerId: 'w1', message: event.message });
    expect(args?.context.task).toEqual(TASK);
    expect(actions.reportStaleResult).not.toHaveBeenCalled();
  });

  it.each([
    ['lease', { ...TASK, lease: 'lease-0' }],
    ['attempt', { ...TASK, attempt: 2 }],
    ['taskId', { ...TASK, taskId: 'other' }],
  ])('a result with another %s is reported stale and the worker stays busy', (_field, stale) => {
    const { actor, actions } = startBusy();
    actor.send({ type: 'task.completed', message: complete(stale) });
    actor.send({ type: 'task.failed', message: failed(stale) });
    expect(actor.getSnapshot().value).toBe('busy');
    expect(actor.getSnapshot().context.task).toEqual(TASK);
    expect(actions.reportTaskResult).not.toHaveBeenCalled();
    expect(actions.reportStaleResult.mock.calls.map((c) => c[1])).toEqual([
      { workerId: 'w1', message: complete(stale), current: TASK },
      { workerId: 'w1', message: failed(stale), current: TASK },
    ]);
  });

  it('task.cancel sends coord:cancel for the current task', () => {
    const { actor, sent } = startBusy();
    actor.send({ type: 'task.cancel', reason: 'drain deadline' });
    expect(actor.getSnapshot().value).toBe('busy');
    expect(sent().at(-1)).toEqual({ type: 'coord:cancel', ...TASK, reason: 'drain deadline' });
  });

  it('process.exited → failed, reporting the lost task before the exit and clearing it', () => {
    const { actor, actions, cleanup } = startBusy();
    actor.send({ type: 'process.exited', code: 137, signal: null });
    const snap = actor.getSnapshot();
    expect(snap.value).toBe('failed');
    expect(snap.context.task).toBeNull();
    expect(snap.context.exit).toEqual({ code: 137, signal: null });
    const [lostArgs, lost] = actions.reportTaskLost.mock.calls[0] ?? [];
    expect(lost).toEqual({ workerId: 'w1', task: TASK, exit: { code: 137, signal: null } });
    expect(lostArgs?.context.task).toEqual(TASK);
    expect(lostArgs?.context.exit).toBeNull();
    const [exitArgs] = actions.reportExit.mock.calls[0] ?? [];
    expect(exitArgs?.context.exit).toEqual({ code: 137, signal: null });
    expect(exitArgs?.context.task).toEqual(TASK);
    expect(actions.reportTaskLost.mock.invocationCallOrder[0]).toBeLessThan(
      actions.reportExit.mock.invocationCallOrder[0] ?? 0,
    );
    expect(cleanup).toHaveBeenCalledOnce();
  });

  it('worker.stop → stopping, still holding the task', () => {
    const { actor } = startBusy();
    actor.send({ type: 'worker.stop' });
    expect(actor.getSnapshot().value).toEqual({ stopping: 'asking' });
    expect(actor.getSnapshot().context.task).toEqual(TASK);
  });

  it('ignores task.assign while busy', () => {
    const { actor, sent } = startBusy();
    actor.send({ type: 'task.assign', message: assignMessage({ taskId: 'other', attempt: 1, lease: 'x' }) });
    expect(actor.getSnapshot().value).toBe('busy');
    expect(actor.getSnapshot().context.task).toEqual(TASK);
    expect(sent()).toHaveLength(1);
  });
});

describe('workerMachine: stopping', () => {
  it('asks, then SIGTERM after shutdownGrace, then SIGKILL after killGrace', () => {
    const { actor, clock, signals } = start();
    actor.send({ type: 'worker.stop' });
    clock.increment(4_999);
    expect(signals()).toEqual([]);
    clock.increment(1);
    expect(actor.getSnapshot().value).toEqual({ stopping: 'terminating' });
    expect(signals()).toEqual(['SIGTERM']);
    clock.increment(1_999);
    expect(signals()).toEqual(['SIGTERM']);
    clock.increment(1);
    expect(actor.getSnapshot().value).toEqual({ stopping: 'killing' });
    expect(signals()).toEqual(['SIGTERM', 'SIGKILL']);
  });

  it('still reports a current result, without restarting the escalation', () => {
    const { actor, clock, actions, signals } = startBusy();
    actor.send({ type: 'worker.stop' });
    clock.increment(5_000);
    actor.send({ type: 'task.completed', message: complete() });
    expect(actor.getSnapshot().value).toEqual({ stopping: 'terminating' });
    expect(actor.getSnapshot().context.task).toBeNull();
    expect(actions.reportTaskResult.mock.calls[0]?.[1]).toEqual({ workerId: 'w1', message: complete() });
    clock.increment(2_000);
    expect(signals()).toEqual(['SIGTERM', 'SIGKILL']);
  });

  it('reports a stale result as stale', () => {
    const { actor, actions } = startBusy();
    actor.send({ type: 'worker.stop' });
    actor.send({ type: 'task.failed', message: failed({ ...TASK, lease: 'old' }) });
    expect(actor.getSnapshot().context.task).toEqual(TASK);
    expect(actions.reportTaskResult).not.toHaveBeenCalled();
    expect(actions.reportStaleResult).toHaveBeenCalledOnce();
  });

  it('process.exited while holding a task → exited, task lost first', () => {
    const { actor, actions, cleanup } = startBusy();
    actor.send({ type: 'worker.stop' });
    actor.send({ type: 'process.exited', code: 0, signal: null });
    const snap = actor.getSnapshot();
    expect(snap.value).toBe('exited');
    expect(snap.status).toBe('done');
    expect(snap.context.task).toBeNull();
    expect(actions.reportTaskLost.mock.calls[0]?.[1]).toEqual({
      workerId: 'w1',
      task: TASK,
      exit: { code: 0, signal: null },
    });
    expect(actions.reportExit.mock.calls[0]?.[1]).toEqual({
      workerId: 'w1',
      exit: { code: 0, signal: null },
      duringShutdown: true,
    });
    expect(actions.reportTaskLost.mock.invocationCallOrder[0]).toBeLessThan(
      actions.reportExit.mock.invocationCallOrder[0] ?? 0,
    );
    expect(cleanup).toHaveBeenCalledOnce();
  });

  it('process.exited without a task → exited, nothing lost', () => {
    const { actor, clock, actions } = start();
    actor.send({ type: 'process.ready', pid: 42 });
    actor.send({ type: 'worker.stop' });
    clock.increment(7_000);
    actor.send({ type: 'process.exited', code: null, signal: 'SIGKILL' });
    expect(actor.getSnapshot().value).toBe('exited');
    expect(actor.getSnapshot().context.exit).toEqual({ code: null, signal: 'SIGKILL' });
    expect(actions.reportTaskLost).not.toHaveBeenCalled();
    expect(actions.reportExit).toHaveBeenCalledOnce();
  });
});

describe('workerMachine: heartbeats', () => {
  const setups: Array<['spawning' | 'idle' | 'busy' | 'stopping', (w: ReturnType<typeof start>) => void]> = [
    ['spawning', () => {}],
    ['idle', (w) => w.actor.send({ type: 'process.ready', pid: 42 })],
    ['busy', (w) => {
      w.actor.send({ type: 'process.ready', pid: 42 });
      w.actor.send({ type: 'task.assign', message: assignMessage() });
    }],
    ['stopping', (w) => w.actor.send({ type: 'worker.stop' })],
  ];

  it.each(setups)('records process.heartbeat in %s without leaving it', (state, arrange) => {
    const w = start();
    arrange(w);
    const before = w.actor.getSnapshot().value;
    w.actor.send({ type: 'process.heartbeat', at: 1234 });
    expect(w.actor.getSnapshot().matches(state)).toBe(true);
    expect(w.actor.getSnapshot().value).toEqual(before);
    expect(w.actor.getSnapshot().context.lastHeartbeatAt).toBe(1234);
  });
});
