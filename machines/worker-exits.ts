/**
 * What the worker machine does when its process dies: record and report the exit, charge it
 * to its cause, then restart, cool down or fail.
 *
 * | death | intensity | restart delay |
 * |---|---|---|
 * | while holding a task (`task`) | not counted: the task's attempt pays | `initialDelayMs` |
 * | before ready, or idle within `minUptimeMs` of ready (`unstable`) | counted | decorrelated jitter, growing |
 * | idle, after `minUptimeMs` (`stable`) | not counted | decorrelated jitter, growing |
 *
 * Any of them after `resetAfterMs` of uptime starts the backoff and the cool-down over. When
 * an unstable death finds intensity used up, a slot that has been ready before cools down
 * (`initialCoolDownMs`, doubling to `maxCoolDownMs`) and then spawns with an empty window;
 * one that never got ready is `failed`.
 */
import { and, assertEvent } from 'xstate';
import { nextCoolDown, nextRestartDelay, recentRestarts } from './restart-policy.js';
import { deathCause, workerSetup } from './worker-setup.js';
import type { ProcessExit } from './worker-types.js';

/**
 * The process is gone: note what the death is charged to (while the task and ready time it
 * depends on are still in context), report the task it held as lost (first, while
 * `context.task` is still set), record the exit, report it, and only then clear the task.
 */
export const recordExit = (duringShutdown: boolean) =>
  workerSetup.enqueueActions(({ context, event, enqueue }) => {
    assertEvent(event, 'process.exited');
    const exit: ProcessExit = { code: event.code, signal: event.signal };
    if (!duringShutdown) enqueue.assign({ lastDeathCause: deathCause(context, event.at) });
    if (context.task !== null) {
      enqueue.emit({ type: 'task.lost', workerId: context.workerId, task: context.task, exit, hung: context.hung });
    }
    enqueue.assign({ exit, pid: null });
    enqueue({ type: 'reportExit', params: { workerId: context.workerId, exit, duringShutdown } });
    enqueue.assign({ task: null });
  });

/** True when the dead process had stayed up `resetAfterMs` since it said ready. */
const ranHealthy = (readyAt: number | null, at: number, resetAfterMs: number): boolean => readyAt !== null && at - readyAt >= resetAfterMs;

/** Plans a restart after {@link recordExit}: its delay by cause, and the death in the intensity window if unstable. */
const planRestart = workerSetup.enqueueActions(({ context, event, enqueue }) => {
  assertEvent(event, 'process.exited');
  const policy = context.restartPolicy;
  const cause = context.lastDeathCause ?? 'unstable';
  const healthy = ranHealthy(context.readyAt, event.at, policy.resetAfterMs);
  // A task-caused death says nothing against the worker: back as soon as the initial delay allows.
  const delayMs = cause === 'task' ? policy.initialDelayMs : nextRestartDelay(healthy ? null : context.restartDelayMs, policy, context.random);
  const restart = context.restarts + 1;
  const unstable = recentRestarts(context.unstableTimes, policy, event.at);
  enqueue.assign({
    restarts: restart,
    restartTimes: [...recentRestarts(context.restartTimes, policy, event.at), event.at],
    unstableTimes: cause === 'unstable' ? [...unstable, event.at] : unstable,
    restartDelayMs: delayMs,
    coolDownMs: healthy ? null : context.coolDownMs,
    readyAt: null,
    hung: false,
    spawnTimedOut: false,
  });
  const exit = { code: event.code, signal: event.signal };
  enqueue({ type: 'reportRestart', params: { workerId: context.workerId, restart, delayMs, exit, cause } });
});

/**
 * Plans a cool-down after {@link recordExit}: the next one in the doubling series, after which
 * the slot starts clean — an empty intensity window and the initial restart delay — since the
 * cool-down itself was the long wait.
 */
const planCoolDown = workerSetup.enqueueActions(({ context, event, enqueue }) => {
  assertEvent(event, 'process.exited');
  const policy = context.restartPolicy;
  const delayMs = nextCoolDown(context.coolDownMs, policy);
  const coolDown = context.coolDowns + 1;
  enqueue.assign({
    restarts: context.restarts + 1,
    restartTimes: [...recentRestarts(context.restartTimes, policy, event.at), event.at],
    unstableTimes: [],
    restartDelayMs: null,
    coolDownMs: delayMs,
    coolDowns: coolDown,
    readyAt: null,
    hung: false,
    spawnTimedOut: false,
  });
  const exit = { code: event.code, signal: event.signal };
  enqueue({ type: 'reportCoolingDown', params: { workerId: context.workerId, coolDown, delayMs, exit } });
});

/** An unexpected exit: restart within budget, else cool down if the slot has started before, else `failed`. */
export const onCrash = [
  { guard: 'hasRestartBudget' as const, target: 'restarting' as const, actions: [recordExit(false), planRestart] },
  { guard: 'canCoolDown' as const, target: 'coolingDown' as const, actions: [recordExit(false), planCoolDown] },
  { target: 'failed' as const, actions: recordExit(false) },
];

/**
 * An exit while `stopping`: a process stopped for never saying ready in time died before
 * ready, an unstable death handled like a crash; any other exit ends an orderly stop.
 */
export const onStoppedExit = [
  { guard: and(['spawnTimedOut', 'hasRestartBudget']), target: 'restarting' as const, actions: [recordExit(false), planRestart] },
  { guard: and(['spawnTimedOut', 'canCoolDown']), target: 'coolingDown' as const, actions: [recordExit(false), planCoolDown] },
  { guard: 'spawnTimedOut' as const, target: 'failed' as const, actions: recordExit(false) },
  { target: 'exited' as const, actions: recordExit(true) },
];
