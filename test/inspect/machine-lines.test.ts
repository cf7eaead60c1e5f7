/**
 * `coord watch --machines`' lines, from the inspection stream of the real machines: a
 * coordinator with its workers, breakers and fallback chains runs on a simulated clock, its
 * XState inspection events are turned into the stream's JSON messages (src/inspect/types.ts),
 * and the formatter reads them as a client would. Replays, drops and odd messages are built
 * from the same actors' snapshots.
 */
import { createActor, fromCallback, fromPromise, SimulatedClock, type AnyActorRef, type InspectionEvent } from 'xstate';
import { describe, expect, it } from 'vitest';
import { coordinatorMachine, type InitializeOutput } from '../../machines/coordinator.js';
import { workerMachine, type ProcessCommand, type RunProcessInput, type WorkerEvent } from '../../machines/worker.js';
import { functionsAsTypes } from '../../src/inspect/export-formats.js';
import { describeEvent, eventDetail, formatStateValue, MachineLines, shortEventType } from '../../src/inspect/machine-lines.js';
import { INSPECT_PROTOCOL_VERSION, type InspectedActor, type InspectedSnapshot, type InspectMessage } from '../../src/inspect/types.js';

const WORKERS: InitializeOutput['workers'] = [
  { workerId: 'w1', worktree: '/repo/.coord/w1', capabilities: [] },
  { workerId: 'w2', worktree: '/repo/.coord/w2', capabilities: [] },
];

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** What XState's inspection hands over is an `Actor`: a ref with its logic. */
type Ref = AnyActorRef & { logic: object };
const refOf = (actorRef: unknown): Ref => actorRef as Ref;

let messageId = 0;
const base = (ref: AnyActorRef, rootId: string | undefined) => ({
  sessionId: ref.sessionId,
  rootId,
  createdAt: String(1_700_000_000_000 + messageId),
  id: `m${(messageId += 1)}`,
  _version: INSPECT_PROTOCOL_VERSION,
});

/** coord's name for an actor: `coordinator` for the root, else its id (`w1`, `breaker:…`). */
const nameOf = (ref: AnyActorRef): string => (ref._parent === undefined ? 'coordinator' : ref.id);

const isMachineRef = (ref: Ref): boolean => 'root' in ref.logic && 'config' in ref.logic;

/** The actor's snapshot; none yet while XState announces an actor it is still creating. */
function snapshotOf(ref: AnyActorRef): InspectedSnapshot {
  let snapshot: { status?: InspectedSnapshot['status']; value?: unknown } | undefined;
  try {
    snapshot = ref.getSnapshot() as typeof snapshot;
  } catch {
    snapshot = undefined;
  }
  return { status: snapshot?.status ?? 'active', ...(snapshot?.value === undefined ? {} : { value: snapshot.value }) };
}

/** An `@xstate.actor` message for `ref` as it is now (what a replay sends). */
function actorMessage(ref: Ref): InspectedActor {
  return {
    type: '@xstate.actor',
    ...base(ref, ref.system.get('coordinator')?.sessionId ?? ref.sessionId),
    name: nameOf(ref),
    parentId: ref._parent?.sessionId,
    definition: isMachineRef(ref) ? JSON.stringify((ref.logic as { config: unknown }).config, functionsAsTypes) : undefined,
    snapshot: snapshotOf(ref),
  };
}

/** XState's inspection event as the stream's JSON message (undefined for those it does not carry). */
function toMessage(event: InspectionEvent): InspectMessage | undefined {
  const json = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
  if (event.type === '@xstate.actor') return json(actorMessage(refOf(event.actorRef)));
  if (event.type === '@xstate.snapshot') {
    const snapshot = event.snapshot as { status: InspectedSnapshot['status']; value?: unknown };
    return json({
      type: '@xstate.snapshot',
      ...base(refOf(event.actorRef), event.rootId),
      snapshot: { status: snapshot.status, value: snapshot.value },
      event: event.event as { type: string } & Record<string, unknown>,
    });
  }
  return undefined;
}

/** A running coordinator on a simulated clock, its inspection stream collected as messages. */
async function system() {
  const messages: InspectMessage[] = [];
  const quietProcess = fromCallback<ProcessCommand, RunProcessInput>(() => {});
  const machine = coordinatorMachine.provide({
    actors: {
      initialize: fromPromise(async () => ({ workers: WORKERS })),
      worker: workerMachine.provide({ actors: { runProcess: quietProcess } }),
      awaitIdle: fromPromise(() => new Promise<void>(() => {})),
      stopWorkers: fromPromise(async () => {}),
      closeResources: fromPromise(async () => {}),
    },
  });
  const clock = new SimulatedClock();
  const actor = createActor(machine, {
    input: { drainDeadlineMs: 30_000 },
    clock,
    systemId: 'coordinator',
    inspect: (event) => {
      const message = toMessage(event);
      if (message) messages.push(message);
    },
  });
  actor.start();
  await settle();
  const child = (id: string): Ref => {
    const ref = (actor.getSnapshot().children as Record<string, AnyActorRef | undefined>)[id];
    if (!ref) throw new Error(`no child ${id}`);
    return refOf(ref);
  };
  const toWorker = (id: string, event: WorkerEvent) => child(id).send(event);
  /** Every message since the last call. */
  let read = 0;
  const fresh = (): InspectMessage[] => messages.slice(read, (read = messages.length));
  return { actor, clock, messages, child, toWorker, fresh };
}

const assign = (taskId: string, lease = 'L1') =>
  ({ type: 'task.assign', message: { type: 'coord:assign', taskId, attempt: 1, lease } }) as unknown as WorkerEvent;

/** Every line the messages give, in order. */
const linesOf = (lines: MachineLines, messages: readonly InspectMessage[]): string[] => messages.flatMap((message) => lines.consume(message));

describe('MachineLines on a live coordinator', () => {
  it('prints each machine starting, then every state change with its event', async () => {
    const s = await system();
    const lines = new MachineLines();
    lines.consume({ type: 'coord.replayed', actors: 0 }); // connected before anything ran
    expect(linesOf(lines, s.fresh())).toEqual([
      'coordinator started in init',
      // The workers are spawned by the transition, before the coordinator's new snapshot is out.
      'w1 started in spawning',
      'w2 started in spawning',
      'coordinator init → running (done)',
    ]);

    s.toWorker('w1', { type: 'process.ready', pid: 101, at: 1_000 });
    s.toWorker('w1', assign('build'));
    s.toWorker('w1', { type: 'process.heartbeat', at: 1_500 }); // busy → busy: no change, no line
    s.toWorker('w1', { type: 'process.exited', code: null, signal: 'SIGKILL', at: 2_000 });
    expect(linesOf(lines, s.fresh())).toEqual([
      'w1 spawning → idle (process.ready)',
      'w1 idle → busy (task.assign build)',
      'w1 busy → restarting (process.exited SIGKILL)',
    ]);

    s.clock.increment(10_000);
    expect(linesOf(lines, s.fresh())).toEqual(['w1 restarting → spawning (after restartDelay)', 'w2 spawning → stopping.asking (after spawnTimeout)']);
    s.clock.increment(5_000);
    expect(linesOf(lines, s.fresh())).toContain('w2 stopping.asking → stopping.terminating (after shutdownGrace)');
  });

  it('prints breakers and fallback chains, spawned on demand, and a chain ending', async () => {
    const s = await system();
    const lines = new MachineLines();
    linesOf(lines, s.fresh());

    s.actor.send({ type: 'breaker.ensure', scope: 'worker:w1' });
    s.actor.send({ type: 'fallback.ensure', taskId: 'build', key: 'build#1' });
    expect(linesOf(lines, s.fresh())).toEqual(['breaker:worker:w1 in closed', 'fallback:build#1 in original']);

    const failure = { type: 'attempt.failed', code: 'TASK_TIMEOUT', at: 5, sessionIdleMs: 0, workerCrashLooping: false } as const;
    const chain = s.child('fallback:build#1');
    chain.send(failure);
    chain.send({ ...failure, code: 'WORKER_HUNG', workerCrashLooping: true });
    chain.send({ ...failure, code: 'LEASE_EXPIRED' });
    expect(linesOf(lines, s.fresh())).toEqual([
      'fallback:build#1 original → live (attempt.failed TASK_TIMEOUT)',
      'fallback:build#1 live → respawn (attempt.failed WORKER_HUNG)',
      'fallback:build#1 respawn → exhausted (attempt.failed LEASE_EXPIRED)',
      'fallback:build#1 stopped',
    ]);
    expect([...lines.known().values()].map((actor) => actor.name)).not.toContain('fallback:build#1');

    const breaker = s.child('breaker:worker:w1');
    for (let i = 0; i < 10; i += 1) breaker.send({ type: 'call.failed', at: 100 + i });
    s.clock.increment(60 * 60_000);
    expect(linesOf(lines, s.fresh()).filter((line) => line.startsWith('breaker:'))).toEqual(['breaker:worker:w1 closed → open (call.failed)', 'breaker:worker:w1 open → halfOpen (after openDuration)']);
  });

  it('prints the coordinator draining, dotted, with the drain\'s reason', async () => {
    const s = await system();
    const lines = new MachineLines();
    linesOf(lines, s.fresh());
    s.actor.send({ type: 'coordinator.drain' });
    s.actor.send({ type: 'coordinator.stop' });
    expect(linesOf(lines, s.fresh()).slice(0, 2)).toEqual([
      'coordinator running → draining.finishing (coordinator.drain)',
      'coordinator draining.finishing → draining.stoppingWorkers (coordinator.stop)',
    ]);
  });

  it('does not show actors that are not machines (a worker\'s process, a promise)', async () => {
    const s = await system();
    const lines = new MachineLines();
    const printed = linesOf(lines, s.messages);
    const names = (s.messages.filter((m) => m.type === '@xstate.actor') as InspectedActor[]).map((m) => m.name);
    expect(names).toContain('process');
    expect(names).toContain('0.coordinator.init');
    expect(printed.join('\n')).not.toMatch(/process|0\.coordinator/);
  });
});

describe('MachineLines: a late client', () => {
  it('takes the replay as the live actors, then prints only what changes', async () => {
    const s = await system();
    s.toWorker('w1', { type: 'process.ready', pid: 101, at: 1_000 });
    s.toWorker('w1', assign('build'));
    s.fresh();
    const replay = ['coordinator', 'w1', 'w2'].map((name) => actorMessage(name === 'coordinator' ? refOf(s.actor) : s.child(name)));
    const lines = new MachineLines();
    expect(linesOf(lines, [...replay, { type: 'coord.replayed', actors: 3 }])).toEqual(['coordinator in running', 'w1 in busy', 'w2 in spawning']);
    s.toWorker('w1', { type: 'task.completed', message: { type: 'coord:complete', taskId: 'build', attempt: 1, lease: 'L1' } } as unknown as WorkerEvent);
    s.actor.send({ type: 'breaker.ensure', scope: 'command:claude' });
    expect(linesOf(lines, s.fresh())).toEqual(['w1 busy → idle (task.completed build)', 'breaker:command:claude started in closed']);
  });

  it('after a drop: a warning; the replay that follows re-prints no known start, only what moved and what stopped', async () => {
    const s = await system();
    const lines = new MachineLines();
    linesOf(lines, [{ type: 'coord.replayed', actors: 0 }, ...s.fresh()]);
    s.actor.send({ type: 'fallback.ensure', taskId: 'lint', key: 'lint#1' });
    expect(linesOf(lines, s.fresh())).toEqual(['fallback:lint#1 started in original']);

    // What happens while this client is behind: never seen by it.
    s.toWorker('w1', { type: 'process.ready', pid: 101, at: 1_000 });
    s.child('fallback:lint#1').send({ type: 'attempt.succeeded' });
    s.actor.send({ type: 'breaker.ensure', scope: 'worker:w2' });
    s.fresh();

    const live = ['coordinator', 'w1', 'w2', 'breaker:worker:w2'].map((name) => actorMessage(name === 'coordinator' ? refOf(s.actor) : s.child(name)));
    expect(linesOf(lines, [{ type: 'coord.dropped', count: 12 }, ...live, { type: 'coord.replayed', actors: live.length }])).toEqual([
      'warning: 12 inspection messages dropped (this watch fell behind); catching up',
      'w1 spawning → idle (while messages were dropped)',
      'breaker:worker:w2 started in closed',
      'fallback:lint#1 stopped',
    ]);
    // And live again afterwards.
    s.toWorker('w1', assign('test'));
    expect(linesOf(lines, s.fresh())).toEqual(['w1 idle → busy (task.assign test)']);
  });

  it('a second replay of the same actors prints nothing', async () => {
    const s = await system();
    const replay = [actorMessage(refOf(s.actor)), actorMessage(s.child('w1'))];
    const lines = new MachineLines();
    expect(linesOf(lines, [...replay, { type: 'coord.replayed', actors: 2 }])).toHaveLength(2);
    expect(linesOf(lines, [{ type: 'coord.dropped', count: 1 }, ...replay, { type: 'coord.replayed', actors: 2 }])).toEqual([
      'warning: 1 inspection message dropped (this watch fell behind); catching up',
    ]);
  });
});

describe('MachineLines: messages on their own', () => {
  const actor = (sessionId: string, name: string, value: unknown, definition: string | null = '{}'): InspectedActor => ({
    type: '@xstate.actor', sessionId, rootId: 'x:0', createdAt: '0', id: `a-${sessionId}`, _version: INSPECT_PROTOCOL_VERSION,
    name, parentId: 'x:0', definition: definition ?? undefined, snapshot: value === undefined ? { status: 'active' } : { status: 'active', value },
  });
  const change = (sessionId: string, value: unknown, event: { type: string } & Record<string, unknown>, status: InspectedSnapshot['status'] = 'active'): InspectMessage => ({
    type: '@xstate.snapshot', sessionId, rootId: 'x:0', createdAt: '0', id: `s-${sessionId}`, _version: INSPECT_PROTOCOL_VERSION,
    snapshot: { status, value }, event,
  });

  it('an actor announced without a state starts with its first snapshot', () => {
    const lines = new MachineLines();
    lines.consume({ type: 'coord.replayed', actors: 0 });
    expect(lines.consume(actor('x:3', 'w3', undefined))).toEqual([]);
    expect(lines.consume(change('x:3', 'spawning', { type: 'xstate.init' }))).toEqual(['w3 started in spawning']);
    expect(lines.consume(change('x:3', 'spawning', { type: 'process.heartbeat', at: 1 }))).toEqual([]);
  });

  it('a stopped actor, an actor in error, and a snapshot from an actor never announced', () => {
    const lines = new MachineLines();
    lines.consume({ type: 'coord.replayed', actors: 0 });
    lines.consume(actor('x:3', 'w3', 'idle'));
    expect(lines.consume(change('x:3', 'idle', { type: 'xstate.stop' }, 'stopped'))).toEqual(['w3 stopped']);
    lines.consume(actor('x:4', 'w4', 'idle'));
    expect(lines.consume(change('x:4', 'idle', { type: 'task.assign' }, 'error'))).toEqual(['w4 stopped (error)']);
    expect(lines.consume(change('x:9', { stopping: 'asking' }, { type: 'worker.stop' }))).toEqual(['x:9 started in stopping.asking']);
  });

  it('ignores @xstate.event and the snapshots of actors that are not machines', () => {
    const lines = new MachineLines();
    lines.consume(actor('x:5', 'process', undefined, null));
    expect(lines.consume(change('x:5', undefined, { type: 'process.send' }))).toEqual([]);
    expect(lines.consume(change('x:5', undefined, { type: 'xstate.stop' }, 'stopped'))).toEqual([]);
    expect(lines.consume({
      type: '@xstate.event', sessionId: 'x:1', rootId: 'x:0', createdAt: '0', id: 'e1', _version: INSPECT_PROTOCOL_VERSION,
      sourceId: undefined, event: { type: 'worker.stop' },
    })).toEqual([]);
  });
});

describe('the pieces', () => {
  it('state values: plain, nested dotted, parallel in brackets', () => {
    expect(formatStateValue('idle')).toBe('idle');
    expect(formatStateValue({ stopping: 'asking' })).toBe('stopping.asking');
    expect(formatStateValue({ a: { b: 'c' } })).toBe('a.b.c');
    expect(formatStateValue({ upload: 'busy', download: { waiting: 'retry' } })).toBe('[upload.busy, download.waiting.retry]');
    expect(formatStateValue({ empty: {} })).toBe('empty');
    expect(formatStateValue(undefined)).toBeUndefined();
  });

  it('XState\'s own events, short', () => {
    expect(shortEventType('xstate.after.heartbeatTimeout.worker.idle')).toBe('after heartbeatTimeout');
    expect(shortEventType('xstate.after.5000.tiny.a')).toBe('after 5000ms');
    expect(shortEventType('xstate.done.actor.0.coordinator.init')).toBe('done');
    expect(shortEventType('xstate.error.actor.0.coordinator.draining.closing')).toBe('error');
    expect(shortEventType('xstate.init')).toBe('init');
    expect(shortEventType('worker.stop')).toBe('worker.stop');
  });

  it('the most telling field, in order: signal, code, reason, workerId, taskId, then nested ids and codes', () => {
    expect(eventDetail({ type: 'process.exited', code: null, signal: 'SIGKILL' })).toBe('SIGKILL');
    expect(eventDetail({ type: 'process.exited', code: 1, signal: null })).toBe('exit 1');
    expect(eventDetail({ type: 'attempt.failed', code: 'TASK_TIMEOUT', at: 1 })).toBe('TASK_TIMEOUT');
    expect(eventDetail({ type: 'task.cancel', reason: 'drain-deadline' })).toBe('drain-deadline');
    expect(eventDetail({ type: 'worker.failed', workerId: 'w2' })).toBe('w2');
    expect(eventDetail({ type: 'coordinator.fault', error: { code: 'DISK_FULL', message: 'no space' } })).toBe('DISK_FULL');
    expect(eventDetail({ type: 'task.completed', message: { taskId: 'build' } })).toBe('build');
    expect(eventDetail({ type: 'coordinator.drain' })).toBeUndefined();
    expect(eventDetail({ type: 'x', reason: 'r'.repeat(100) })).toBe(`${'r'.repeat(39)}…`);
    expect(describeEvent({ type: 'xstate.error.actor.0.x', error: { code: 'STORE_CORRUPT' } })).toBe('error STORE_CORRUPT');
  });
});
