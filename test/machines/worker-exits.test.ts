/**
 * The worker machine's death rules (machines/worker-exits.ts): what a death is charged to,
 * cool-downs, and when a slot fails for good. A fake process and a simulated clock; event
 * times are plain numbers.
 */
import { describe, expect, it, vi } from 'vitest';
import { createActor, fromCallback, SimulatedClock } from 'xstate';
import { DEFAULT_RESTART_POLICY, type RestartType } from '../../machines/restart-policy.js';
import type { ParentMessageOf } from '../../src/protocol/messages.js';
import { workerMachine, type ProcessCommand, type RunProcessInput, type TaskLease, type WorkerActionParams } from '../../machines/worker.js';

// Two unstable restarts per 10 s; the third unstable death runs out. Jitter pinned to the
// top of its range (random = 1): restart delays 100, 300, 900, then the 1 000 cap.
const POLICY = {
  ...DEFAULT_RESTART_POLICY,
  maxRestarts: 2,
  periodMs: 10_000,
  initialDelayMs: 100,
  maxDelayMs: 1_000,
  factor: 3,
  resetAfterMs: 5_000,
  minUptimeMs: 1_000,
  initialCoolDownMs: 2_000,
  maxCoolDownMs: 5_000,
};

function assign(attempt: number): ParentMessageOf<'coord:assign'> {
  const task: TaskLease = { taskId: 'poison', attempt, lease: `lease-${attempt}` };
  return { type: 'coord:assign', ...task, exec: { kind: 'run', argv: ['true'], env: {} }, branch: 'coord/poison', startCommit: 'a'.repeat(40), timeoutMs: null, logFile: '/tmp/poison.log', maxLogBytes: 52_428_800, quietAfterMs: null, rateKey: null, workspace: 'worktree' };
}

function start(restart: RestartType = 'permanent') {
  const inputs: RunProcessInput[] = [];
  const runProcess = fromCallback<ProcessCommand, RunProcessInput>(({ input }) => {
    inputs.push(input);
  });
  const reportRestart = vi.fn((_: unknown, _params: WorkerActionParams['reportRestart']) => {});
  const reportCoolingDown = vi.fn((_: unknown, _params: WorkerActionParams['reportCoolingDown']) => {});
  const clock = new SimulatedClock();
  const machine = workerMachine.provide({
    actors: { runProcess },
    actions: { reportRestart, reportCoolingDown },
    delays: { heartbeatTimeout: 60_000, spawnTimeout: 10_000, shutdownGrace: 100, killGrace: 100 },
  });
  const actor = createActor(machine, {
    input: { workerId: 'w1', worktree: '/repo/.coord/w1', capabilities: [], restartPolicy: { ...POLICY, restart }, random: () => 1 },
    clock,
  }).start();
  let now = 0;
  let pid = 0;
  const w = {
    actor,
    clock,
    inputs,
    reportRestart,
    reportCoolingDown,
    state: () => actor.getSnapshot().value,
    context: () => actor.getSnapshot().context,
    /** Moves the event clock on by `ms` (the simulated timer clock is moved separately). */
    later: (ms: number) => (now += ms),
    ready: () => actor.send({ type: 'process.ready', pid: (pid += 1), at: now }),
    exit: () => actor.send({ type: 'process.exited', code: null, signal: 'SIGKILL', at: now }),
    /** Lets the pending restart or cool-down delay run out. */
    respawn: () => w.clock.increment((w.state() === 'coolingDown' ? w.context().coolDownMs : w.context().restartDelayMs) ?? 0),
    /** Unstable deaths before ready, each restarted, until the slot leaves the restart path. */
    crashUntilOutOfIntensity: () => {
      for (;;) {
        w.later(10);
        w.exit();
        if (w.state() !== 'restarting') return;
        w.respawn();
      }
    },
  };
  return w;
}

describe('worker deaths: charged to their cause', () => {
  it('deaths while running a task never count against intensity and restart after the initial delay', () => {
    const w = start();
    for (let attempt = 1; attempt <= 10; attempt += 1) {
      w.ready();
      w.actor.send({ type: 'task.assign', message: assign(attempt) });
      w.later(5); // the task kills its worker at once, well within minUptimeMs
      w.exit();
      expect(w.state()).toBe('restarting');
      expect(w.reportRestart.mock.calls.at(-1)?.[1]).toMatchObject({ cause: 'task', delayMs: 100, restart: attempt });
      expect(w.context().unstableTimes).toEqual([]);
      w.respawn();
      expect(w.state()).toBe('spawning');
    }
    expect(w.inputs).toHaveLength(11);
    expect(w.reportCoolingDown).not.toHaveBeenCalled();
    // Every restart still counts as a restart (the fallback chains' crash-loop test reads these).
    expect(w.context().restarts).toBe(10);
    expect(w.context().restartTimes).toHaveLength(10);
  });

  it('a worker killed as hung while running a task is charged to the task too', () => {
    const w = start();
    w.ready();
    w.actor.send({ type: 'task.assign', message: assign(1) });
    w.clock.increment(60_000);
    expect(w.state()).toBe('hung');
    w.later(60_000);
    w.exit();
    expect(w.state()).toBe('restarting');
    expect(w.context().lastDeathCause).toBe('task');
    expect(w.context().unstableTimes).toEqual([]);
  });

  it('a death before ready is unstable and counted', () => {
    const w = start();
    w.later(10);
    w.exit();
    expect(w.reportRestart.mock.calls[0]?.[1]).toMatchObject({ cause: 'unstable', delayMs: 100 });
    expect(w.context().unstableTimes).toEqual([10]);
  });

  it('an idle death within minUptimeMs of ready is unstable; one after it is stable and not counted', () => {
    const w = start();
    w.ready();
    w.later(999);
    w.exit();
    expect(w.context().lastDeathCause).toBe('unstable');
    expect(w.context().unstableTimes).toEqual([999]);
    w.respawn();
    w.ready();
    w.later(1_000);
    w.exit();
    expect(w.context().lastDeathCause).toBe('stable');
    expect(w.context().unstableTimes).toEqual([999]);
    // A stable death still backs off (decorrelated jitter from the last delay): 100 → 300.
    expect(w.reportRestart.mock.calls.map((c) => c[1].delayMs)).toEqual([100, 300]);
  });

  it('stable deaths, however many, never run out of intensity', () => {
    const w = start();
    for (let i = 0; i < 10; i += 1) {
      w.ready();
      w.later(1_500);
      w.exit();
      expect(w.state()).toBe('restarting');
      w.respawn();
    }
    expect(w.reportCoolingDown).not.toHaveBeenCalled();
  });
});

describe('worker deaths: cool-down', () => {
  /** A slot that became ready once, then crash-loops before ready until it cools down. */
  function startCooling() {
    const w = start();
    w.ready();
    w.crashUntilOutOfIntensity();
    return w;
  }

  it('a slot that has been ready cools down when an unstable death finds intensity used up', () => {
    const w = startCooling();
    expect(w.state()).toBe('coolingDown');
    // maxRestarts 2: two unstable restarts, and the third unstable death cools down.
    expect(w.reportRestart).toHaveBeenCalledTimes(2);
    expect(w.reportCoolingDown.mock.calls[0]?.[1]).toEqual({ workerId: 'w1', coolDown: 1, delayMs: 2_000, exit: { code: null, signal: 'SIGKILL' } });
    expect(w.context().pid).toBeNull();
  });

  it('waits the cool-down, then spawns with its intensity window and restart delay reset', () => {
    const w = startCooling();
    const forks = w.inputs.length;
    w.clock.increment(1_999);
    expect(w.state()).toBe('coolingDown');
    expect(w.inputs).toHaveLength(forks);
    w.clock.increment(1);
    expect(w.state()).toBe('spawning');
    expect(w.inputs).toHaveLength(forks + 1);
    expect(w.context().unstableTimes).toEqual([]);
    expect(w.context().restartDelayMs).toBeNull();
    // A fresh window: two more unstable restarts are allowed before the next cool-down.
    w.crashUntilOutOfIntensity();
    expect(w.reportRestart).toHaveBeenCalledTimes(4);
    expect(w.reportRestart.mock.calls[2]?.[1]).toMatchObject({ delayMs: 100 });
    expect(w.state()).toBe('coolingDown');
  });

  it('doubles the cool-down each time, up to its cap', () => {
    const w = startCooling();
    const delays = [w.context().coolDownMs];
    for (let i = 0; i < 3; i += 1) {
      w.respawn();
      w.crashUntilOutOfIntensity();
      expect(w.state()).toBe('coolingDown');
      delays.push(w.context().coolDownMs);
    }
    expect(delays).toEqual([2_000, 4_000, 5_000, 5_000]);
    expect(w.reportCoolingDown.mock.calls.map((c) => c[1].coolDown)).toEqual([1, 2, 3, 4]);
    expect(w.context().restarts).toBe(4 * 3);
  });

  it('starts the cool-down series over once the worker has run healthy for resetAfterMs', () => {
    const w = startCooling();
    w.respawn();
    w.crashUntilOutOfIntensity();
    expect(w.context().coolDownMs).toBe(4_000);
    w.respawn();
    w.ready();
    w.later(5_000);
    w.exit();
    expect(w.context().coolDownMs).toBeNull();
    w.respawn();
    w.crashUntilOutOfIntensity();
    expect(w.context().coolDownMs).toBe(2_000);
  });

  it('worker.stop while cooling down ends the worker without a new process', () => {
    const w = startCooling();
    const forks = w.inputs.length;
    w.actor.send({ type: 'worker.stop' });
    expect(w.state()).toBe('exited');
    w.clock.increment(60_000);
    expect(w.inputs).toHaveLength(forks);
  });
});

describe('worker deaths: failed for good', () => {
  it('a slot whose process never became ready is failed when intensity runs out, with no cool-down', () => {
    const w = start();
    w.crashUntilOutOfIntensity();
    expect(w.state()).toBe('failed');
    expect(w.actor.getSnapshot().status).toBe('done');
    expect(w.inputs).toHaveLength(3);
    expect(w.reportCoolingDown).not.toHaveBeenCalled();
  });

  it('a temporary worker is never restarted nor cooled down, whatever killed it', () => {
    const w = start('temporary');
    w.ready();
    w.actor.send({ type: 'task.assign', message: assign(1) });
    w.exit();
    expect(w.state()).toBe('failed');
    expect(w.reportCoolingDown).not.toHaveBeenCalled();
  });

  it('a transient worker that exits cleanly is failed even though it was ready', () => {
    const w = start('transient');
    w.ready();
    w.later(10);
    w.actor.send({ type: 'process.exited', code: 0, signal: null, at: 10 });
    expect(w.state()).toBe('failed');
  });
});

describe('worker deaths: spawn timeouts', () => {
  it('a process that never says ready in time is an unstable death: restarted, then failed if the slot never started', () => {
    const w = start();
    for (let i = 0; i < 2; i += 1) {
      w.clock.increment(10_000);
      expect(w.state()).toEqual({ stopping: 'asking' });
      w.later(100); // event times stay inside one intensity period
      w.exit();
      expect(w.state()).toBe('restarting');
      expect(w.context().lastDeathCause).toBe('unstable');
      expect(w.context().spawnTimedOut).toBe(false);
      w.respawn();
    }
    w.clock.increment(10_000);
    w.exit();
    expect(w.state()).toBe('failed');
  });

  it('a stop asked for while a spawn timeout is being stopped ends the worker, with no restart', () => {
    const w = start();
    w.clock.increment(10_000);
    w.actor.send({ type: 'worker.stop' });
    w.exit();
    expect(w.state()).toBe('exited');
    w.clock.increment(60_000);
    expect(w.inputs).toHaveLength(1);
  });

  it('an orderly stop is still just an exit', () => {
    const w = start();
    w.ready();
    w.actor.send({ type: 'worker.stop' });
    w.exit();
    expect(w.state()).toBe('exited');
    expect(w.context().lastDeathCause).toBeNull();
  });
});
