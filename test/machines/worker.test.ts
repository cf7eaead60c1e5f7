import { describe, expect, it, vi } from 'vitest';
import { createActor, fromCallback, SimulatedClock, type Actor } from 'xstate';
import { DEFAULT_RESTART_POLICY } from '../../machines/restart-policy.js';
import type { ParentMessageOf, WorkerMessageOf } from '../../src/protocol/messages.js';
import {
  SHUTDOWN_GRACE_MS,
  workerMachine,
  type ProcessCommand,
  type RunProcessInput,
  type TaskLease,
  type WorkerActionParams,
  type WorkerContext,
  type WorkerEmitted,
} from '../../machines/worker.js';

// `temporary`: these tests are about one process's life; restarts have their own tests.
const INPUT = {
  workerId: 'w1',
  worktree: '/repo/.coord/w1',
  capabilities: ['node'],
  restartPolicy: { ...DEFAULT_RESTART_POLICY, restart: 'temporary' as const },
};
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
    maxLogBytes: 52_428_800,
    rateKey: null,
    quietAfterMs: null,
    workspace: 'worktree',
  };
}

function complete(task: TaskLease = TASK): WorkerMessageOf<'coord:complete'> {
  return { type: 'coord:complete', ...task, exitCode: 0, result: null, commit: SHA, durationMs: 5 };
}

function failed(task: TaskLease = TASK): WorkerMessageOf<'coord:failed'> {
  return {
    type: 'coord:failed',
    ...task,
    code: 'TASK_EXIT_NONZERO',
    message: 'exit 1',
    outputTail: [],
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

/** Records what the machine emits of `type` (payload without `type`, and the context at delivery). */
function listen<T extends WorkerEmitted['type']>(actor: Actor<typeof workerMachine>, type: T) {
  const heard = vi.fn((_context: WorkerContext, _payload: Omit<Extract<WorkerEmitted, { type: T }>, 'type'>): void => {});
  actor.on(type, (event) => {
    const { type: _type, ...payload } = event as Extract<WorkerEmitted, { type: T }>;
    heard(actor.getSnapshot().context, payload);
  });
  return heard;
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
    reportStaleResult: reporter<WorkerActionParams['reportStaleResult']>(),
    reportExit: reporter<WorkerActionParams['reportExit']>(),
  };
  const clock = new SimulatedClock();
  const machine = workerMachine.provide({ actors: { runProcess }, actions, ...(delays ? { delays } : {}) });
  const actor = createActor(machine, { input: INPUT, clock });
  const emitted = { result: listen(actor, 'task.result'), lost: listen(actor, 'task.lost') };
  actor.start();
  const signals = () => commands.flatMap((c) => (c.type === 'process.signal' ? [c.signal] : []));
  const sent = () => commands.flatMap((c) => (c.type === 'process.send' ? [c.message] : []));
  return { actor, clock, commands, inputs, cleanup, actions, emitted, signals, sent };
}

function startBusy() {
  const w = start();
  w.actor.send({ type: 'process.ready', pid: 42, at: 0 });
  w.actor.send({ type: 'task.assign', message: assignMessage() });
  return w;
}

describe('workerMachine: spawning', () => {
  it('spawns the process with the worker input and waits for ready', () => {
    const { actor, inputs } = start();
    expect(actor.getSnapshot().value).toBe('spawning');
    expect(inputs).toEqual([{ workerId: INPUT.workerId, worktree: INPUT.worktree, capabilities: INPUT.capabilities }]);
  });

  it('process.ready → idle, records the pid and reports ready', () => {
    const { actor, actions } = start();
    actor.send({ type: 'process.ready', pid: 42, at: 0 });
    expect(actor.getSnapshot().value).toBe('idle');
    expect(actor.getSnapshot().context.pid).toBe(42);
    expect(actions.reportReady).toHaveBeenCalledOnce();
    expect(actions.reportReady.mock.calls[0]?.[1]).toEqual({ workerId: 'w1', pid: 42 });
  });

  it('process.exited → failed, records the exit, reports it and stops the child', () => {
    const { actor, actions, emitted, cleanup } = start();
    actor.send({ type: 'process.exited', code: 1, signal: null, at: 0 });
    const snap = actor.getSnapshot();
    expect(snap.value).toBe('failed');
    expect(snap.status).toBe('done');
    expect(snap.context.exit).toEqual({ code: 1, signal: null });
    expect(actions.reportExit.mock.calls[0]?.[1]).toEqual({
      workerId: 'w1',
      exit: { code: 1, signal: null },
      duringShutdown: false,
    });
    expect(emitted.lost).not.toHaveBeenCalled();
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
    actor.send({ type: 'process.exited', code: null, signal: 'SIGTERM', at: 0 });
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
    const { actor, actions, emitted, cleanup } = start();
    actor.send({ type: 'process.ready', pid: 42, at: 0 });
    actor.send({ type: 'process.exited', code: null, signal: 'SIGSEGV', at: 0 });
    expect(actor.getSnapshot().value).toBe('failed');
    expect(actor.getSnapshot().context.exit).toEqual({ code: null, signal: 'SIGSEGV' });
    expect(actions.reportExit).toHaveBeenCalledOnce();
    expect(emitted.lost).not.toHaveBeenCalled();
    expect(cleanup).toHaveBeenCalledOnce();
  });

  it('worker.stop → stopping', () => {
    const { actor } = start();
    actor.send({ type: 'process.ready', pid: 42, at: 0 });
    actor.send({ type: 'worker.stop' });
    expect(actor.getSnapshot().value).toEqual({ stopping: 'asking' });
  });
});

describe('workerMachine: busy', () => {
  it.each([
    ['task.completed', { type: 'task.completed', message: complete() }],
    ['task.failed', { type: 'task.failed', message: failed() }],
  ] as const)('%s with the current lease → idle, the result emitted after the transition', (_name, event) => {
    const { actor, actions, emitted } = startBusy();
    actor.send(event);
    expect(actor.getSnapshot().value).toBe('idle');
    expect(actor.getSnapshot().context.task).toBeNull();
    const [seen, payload] = emitted.result.mock.calls[0] ?? [];
    expect(payload).toEqual({ workerId: 'w1', message: event.message });
    // Delivered with the snapshot already updated: the listener sees an idle worker.
    expect(seen?.task).toBeNull();
    expect(actions.reportStaleResult).not.toHaveBeenCalled();
  });

  it.each([
    ['lease', { ...TASK, lease: 'lease-0' }],
    ['attempt', { ...TASK, attempt: 2 }],
    ['taskId', { ...TASK, taskId: 'other' }],
  ])('a result with another %s is reported stale and the worker stays busy', (_field, stale) => {
    const { actor, actions, emitted } = startBusy();
    actor.send({ type: 'task.completed', message: complete(stale) });
    actor.send({ type: 'task.failed', message: failed(stale) });
    expect(actor.getSnapshot().value).toBe('busy');
    expect(actor.getSnapshot().context.task).toEqual(TASK);
    expect(emitted.result).not.toHaveBeenCalled();
    expect(actions.reportStaleResult.mock.calls.map((c) => c[1])).toEqual([
      { workerId: 'w1', message: complete(stale), current: TASK },
      { workerId: 'w1', message: failed(stale), current: TASK },
    ]);
  });

  it('task.cancel sends coord:cancel for the current task', () => {
    const { actor, sent } = startBusy();
    actor.send({ type: 'task.cancel', reason: 'drain deadline' });
    expect(actor.getSnapshot().value).toBe('busy');
    expect(sent().at(-1)).toEqual({ type: 'coord:cancel', ...TASK, reason: 'drain deadline', graceful: 'SIGTERM' });
  });

  it('process.exited → failed, emitting the lost task (with its lease) and clearing it', () => {
    const { actor, actions, emitted, cleanup } = startBusy();
    const observed: string[] = [];
    actor.subscribe((snapshot) => observed.push(`${String(snapshot.value)} after ${emitted.lost.mock.calls.length} lost`));
    actor.send({ type: 'process.exited', code: 137, signal: null, at: 0 });
    const snap = actor.getSnapshot();
    expect(snap.value).toBe('failed');
    expect(snap.context.task).toBeNull();
    expect(snap.context.exit).toEqual({ code: 137, signal: null });
    const [seen, lost] = emitted.lost.mock.calls[0] ?? [];
    expect(lost).toEqual({ workerId: 'w1', task: TASK, exit: { code: 137, signal: null }, hung: false });
    expect(seen?.exit).toEqual({ code: 137, signal: null });
    // Observers (the supervisor's registry: "this worker failed") hear of the death only after the lost task.
    expect(observed).toEqual(['failed after 1 lost']);
    const [exitArgs] = actions.reportExit.mock.calls[0] ?? [];
    expect(exitArgs?.context.exit).toEqual({ code: 137, signal: null });
    expect(exitArgs?.context.task).toEqual(TASK);
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
    const { actor, clock, emitted, signals } = startBusy();
    actor.send({ type: 'worker.stop' });
    clock.increment(5_000);
    actor.send({ type: 'task.completed', message: complete() });
    expect(actor.getSnapshot().value).toEqual({ stopping: 'terminating' });
    expect(actor.getSnapshot().context.task).toBeNull();
    expect(emitted.result.mock.calls[0]?.[1]).toEqual({ workerId: 'w1', message: complete() });
    clock.increment(2_000);
    expect(signals()).toEqual(['SIGTERM', 'SIGKILL']);
  });

  it('reports a stale result as stale', () => {
    const { actor, actions, emitted } = startBusy();
    actor.send({ type: 'worker.stop' });
    actor.send({ type: 'task.failed', message: failed({ ...TASK, lease: 'old' }) });
    expect(actor.getSnapshot().context.task).toEqual(TASK);
    expect(emitted.result).not.toHaveBeenCalled();
    expect(actions.reportStaleResult).toHaveBeenCalledOnce();
  });

  it('process.exited while holding a task → exited, the task emitted as lost', () => {
    const { actor, actions, emitted, cleanup } = startBusy();
    actor.send({ type: 'worker.stop' });
    actor.send({ type: 'process.exited', code: 0, signal: null, at: 0 });
    const snap = actor.getSnapshot();
    expect(snap.value).toBe('exited');
    expect(snap.status).toBe('done');
    expect(snap.context.task).toBeNull();
    expect(emitted.lost.mock.calls[0]?.[1]).toEqual({
      workerId: 'w1',
      task: TASK,
      exit: { code: 0, signal: null },
      hung: false,
    });
    expect(actions.reportExit.mock.calls[0]?.[1]).toEqual({
      workerId: 'w1',
      exit: { code: 0, signal: null },
      duringShutdown: true,
    });
    expect(cleanup).toHaveBeenCalledOnce();
  });

  it('process.exited without a task → exited, nothing lost', () => {
    const { actor, clock, actions, emitted } = start();
    actor.send({ type: 'process.ready', pid: 42, at: 0 });
    actor.send({ type: 'worker.stop' });
    clock.increment(7_000);
    actor.send({ type: 'process.exited', code: null, signal: 'SIGKILL', at: 0 });
    expect(actor.getSnapshot().value).toBe('exited');
    expect(actor.getSnapshot().context.exit).toEqual({ code: null, signal: 'SIGKILL' });
    expect(emitted.lost).not.toHaveBeenCalled();
    expect(actions.reportExit).toHaveBeenCalledOnce();
  });
});

describe('workerMachine: heartbeats', () => {
  const setups: Array<['spawning' | 'idle' | 'busy' | 'stopping', (w: ReturnType<typeof start>) => void]> = [
    ['spawning', () => {}],
    ['idle', (w) => w.actor.send({ type: 'process.ready', pid: 42, at: 0 })],
    ['busy', (w) => {
      w.actor.send({ type: 'process.ready', pid: 42, at: 0 });
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

describe('workerMachine: restarts', () => {
  const policy = { ...DEFAULT_RESTART_POLICY, maxRestarts: 3, periodMs: 10_000, initialDelayMs: 100, maxDelayMs: 1_000, factor: 3, resetAfterMs: 5_000 };

  function startPermanent(random = () => 0.5, restart: 'permanent' | 'transient' = 'permanent') {
    const commands: ProcessCommand[] = [];
    const inputs: RunProcessInput[] = [];
    const runProcess = fromCallback<ProcessCommand, RunProcessInput>(({ input, receive }) => {
      inputs.push(input);
      receive((command) => commands.push(command));
    });
    const reportRestart = reporter<WorkerActionParams['reportRestart']>();
    const reportHung = reporter<WorkerActionParams['reportHung']>();
    const clock = new SimulatedClock();
    const machine = workerMachine.provide({ actors: { runProcess }, actions: { reportRestart, reportHung }, delays: { heartbeatTimeout: 3_000 } });
    const actor = createActor(machine, { input: { ...INPUT, restartPolicy: { ...policy, restart }, random }, clock });
    const reportTaskLost = listen(actor, 'task.lost');
    actor.start();
    return { actor, clock, commands, inputs, reportRestart, reportTaskLost, reportHung };
  }

  it('restarts a crashed worker after the initial delay, then spawns a fresh process', () => {
    const w = startPermanent();
    w.actor.send({ type: 'process.ready', pid: 1, at: 1_000 });
    w.actor.send({ type: 'process.exited', code: null, signal: 'SIGKILL', at: 2_000 });
    const snap = w.actor.getSnapshot();
    expect(snap.value).toBe('restarting');
    expect(snap.context.restarts).toBe(1);
    expect(snap.context.restartDelayMs).toBe(100);
    expect(w.reportRestart.mock.calls[0]?.[1]).toEqual({ workerId: 'w1', restart: 1, delayMs: 100, exit: { code: null, signal: 'SIGKILL' }, cause: 'stable' });
    w.clock.increment(99);
    expect(w.actor.getSnapshot().value).toBe('restarting');
    w.clock.increment(1);
    expect(w.actor.getSnapshot().value).toBe('spawning');
    expect(w.inputs).toHaveLength(2);
  });

  it('requeues the task a crashed busy worker held and still restarts', () => {
    const w = startPermanent();
    w.actor.send({ type: 'process.ready', pid: 1, at: 0 });
    w.actor.send({ type: 'task.assign', message: assignMessage() });
    w.actor.send({ type: 'process.exited', code: 1, signal: null, at: 10 });
    expect(w.reportTaskLost.mock.calls[0]?.[1]).toMatchObject({ task: TASK, hung: false });
    expect(w.actor.getSnapshot().value).toBe('restarting');
    expect(w.actor.getSnapshot().context.task).toBeNull();
  });

  it('grows the delay with decorrelated jitter up to the cap', () => {
    const w = startPermanent(() => 1); // always the top of the range: 100, 300, 900, then capped
    const delays: number[] = [];
    let at = 0;
    for (let i = 0; i < 3; i += 1) {
      w.actor.send({ type: 'process.exited', code: 1, signal: null, at: (at += 1) });
      delays.push(w.actor.getSnapshot().context.restartDelayMs ?? -1);
      w.clock.increment(10_000);
      // keep the intensity window from filling: restarts are 4 s apart on the event clock
      at += 4_000;
    }
    expect(delays).toEqual([100, 300, 900]);
  });

  it('fails the worker when restarts exceed the intensity limit, without another spawn', () => {
    const w = startPermanent();
    let at = 0;
    for (let i = 0; i < 3; i += 1) {
      w.actor.send({ type: 'process.exited', code: 1, signal: null, at: (at += 100) });
      expect(w.actor.getSnapshot().value).toBe('restarting');
      w.clock.increment(2_000);
    }
    expect(w.inputs).toHaveLength(4);
    w.actor.send({ type: 'process.exited', code: 1, signal: null, at: (at += 100) });
    expect(w.actor.getSnapshot().value).toBe('failed');
    w.clock.increment(60_000);
    expect(w.inputs).toHaveLength(4);
  });

  it('forgets restarts older than the period', () => {
    const w = startPermanent();
    for (const at of [0, 100, 200]) {
      w.actor.send({ type: 'process.exited', code: 1, signal: null, at });
      w.clock.increment(2_000);
    }
    w.actor.send({ type: 'process.exited', code: 1, signal: null, at: 10_150 });
    expect(w.actor.getSnapshot().value).toBe('restarting');
  });

  it('starts the backoff over after a healthy run', () => {
    const w = startPermanent(() => 1);
    w.actor.send({ type: 'process.exited', code: 1, signal: null, at: 0 });
    w.clock.increment(100);
    w.actor.send({ type: 'process.ready', pid: 2, at: 100 });
    w.actor.send({ type: 'process.exited', code: 1, signal: null, at: 200 });
    expect(w.actor.getSnapshot().context.restartDelayMs).toBe(300);
    w.clock.increment(300);
    w.actor.send({ type: 'process.ready', pid: 3, at: 500 });
    w.actor.send({ type: 'process.exited', code: 1, signal: null, at: 500 + 5_000 });
    expect(w.actor.getSnapshot().context.restartDelayMs).toBe(100);
  });

  it('a transient worker is not restarted after a clean exit', () => {
    const w = startPermanent(() => 0.5, 'transient');
    w.actor.send({ type: 'process.ready', pid: 1, at: 0 });
    w.actor.send({ type: 'process.exited', code: 0, signal: null, at: 10 });
    expect(w.actor.getSnapshot().value).toBe('failed');
  });

  it('worker.stop while restarting ends the worker without a new process', () => {
    const w = startPermanent();
    w.actor.send({ type: 'process.exited', code: 1, signal: null, at: 0 });
    w.actor.send({ type: 'worker.stop' });
    expect(w.actor.getSnapshot().value).toBe('exited');
    w.clock.increment(10_000);
    expect(w.inputs).toHaveLength(1);
  });

  it('kills a worker whose heartbeats stop, reports its task lost as hung, and restarts it', () => {
    const w = startPermanent();
    w.actor.send({ type: 'process.ready', pid: 1, at: 0 });
    w.actor.send({ type: 'task.assign', message: assignMessage() });
    w.clock.increment(2_000);
    w.actor.send({ type: 'process.heartbeat', at: 2_000 }); // resets the timer
    w.clock.increment(2_999);
    expect(w.actor.getSnapshot().value).toBe('busy');
    w.clock.increment(1);
    expect(w.actor.getSnapshot().value).toBe('hung');
    expect(w.reportHung.mock.calls[0]?.[1]).toEqual({ workerId: 'w1', lastHeartbeatAt: 2_000 });
    expect(w.commands.filter((c) => c.type === 'process.signal')).toEqual([{ type: 'process.signal', signal: 'SIGKILL' }]);
    w.actor.send({ type: 'process.exited', code: null, signal: 'SIGKILL', at: 5_000 });
    expect(w.reportTaskLost.mock.calls[0]?.[1]).toMatchObject({ task: TASK, hung: true });
    expect(w.actor.getSnapshot().value).toBe('restarting');
    expect(w.actor.getSnapshot().context.hung).toBe(false);
  });

  it('an idle worker that stops heartbeating is hung too', () => {
    const w = startPermanent();
    w.actor.send({ type: 'process.ready', pid: 1, at: 0 });
    w.clock.increment(3_000);
    expect(w.actor.getSnapshot().value).toBe('hung');
  });
});
