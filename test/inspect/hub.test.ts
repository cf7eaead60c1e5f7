import { describe, expect, it } from 'vitest';
import { createActor, createMachine, sendTo } from 'xstate';
import { InspectionHub, type InspectClient } from '../../src/inspect/hub.js';
import type { InspectMessage } from '../../src/inspect/types.js';

const child = createMachine({ id: 'child', initial: 'idle', states: { idle: { on: { GO: 'busy' } }, busy: { on: { DONE: 'idle' } } } });
const parent = createMachine({
  id: 'parent', initial: 'running',
  states: { running: { invoke: { id: 'kid', src: child }, on: { POKE: { actions: sendTo('kid', { type: 'GO' }) } } } },
});

/** A client that records what it got, with a backlog the test sets. */
function recorder(): InspectClient & { got: InspectMessage[]; backlogBytes: number } {
  const client = { got: [] as InspectMessage[], backlogBytes: 0, send(text: string) { client.got.push(JSON.parse(text) as InspectMessage); }, backlog: () => client.backlogBytes };
  return client;
}

describe('the inspection hub', () => {
  it('replays every live actor with its definition and snapshot to a late client, then streams changes', () => {
    const hub = new InspectionHub();
    const actor = createActor(parent, { inspect: hub.observer }).start();
    actor.send({ type: 'POKE' });
    const late = recorder();
    hub.subscribe(late);
    expect(late.got.map((m) => m.type)).toEqual(['@xstate.actor', '@xstate.actor', 'coord.replayed']);
    const [root, kid] = late.got as Array<Extract<InspectMessage, { type: '@xstate.actor' }>>;
    expect(root).toMatchObject({ name: 'parent', snapshot: { value: 'running' } });
    expect(root?.parentId).toBeUndefined();
    expect(kid).toMatchObject({ name: 'kid', parentId: root?.sessionId, snapshot: { value: 'busy' } });
    expect(JSON.parse(kid?.definition ?? '{}')).toMatchObject({ id: 'child', initial: 'idle' });
    late.got.length = 0;
    actor.getSnapshot().children['kid']?.send({ type: 'DONE' });
    const change = late.got.find((m) => m.type === '@xstate.snapshot');
    expect(change).toMatchObject({ sessionId: kid?.sessionId, snapshot: { value: 'idle' }, event: { type: 'DONE' } });
    expect(late.got.some((m) => m.type === '@xstate.event')).toBe(true);
    actor.stop();
  });

  it('serializes nothing while no client listens, and forgets stopped actors', () => {
    const hub = new InspectionHub();
    const actor = createActor(parent, { inspect: hub.observer }).start();
    actor.send({ type: 'POKE' });
    expect(hub.stats()).toMatchObject({ serialized: 0, liveActors: 2 });
    expect(hub.stats().observed).toBeGreaterThan(3);
    actor.stop();
    const after = recorder();
    hub.subscribe(after);
    expect(after.got).toEqual([{ type: 'coord.replayed', actors: 0 }]);
  });

  it('drops messages to a client that falls behind, then says how many and replays once it catches up', async () => {
    const hub = new InspectionHub();
    const actor = createActor(parent, { inspect: hub.observer }).start();
    const slow = recorder();
    const fast = recorder();
    hub.subscribe(slow, { maxBacklogBytes: 100 });
    hub.subscribe(fast);
    slow.backlogBytes = 1_000;
    for (let i = 0; i < 5; i += 1) {
      actor.send({ type: 'POKE' });
      actor.getSnapshot().children['kid']?.send({ type: 'DONE' });
    }
    const gotWhileBehind = slow.got.length;
    expect(fast.got.filter((m) => m.type === '@xstate.snapshot').length).toBeGreaterThanOrEqual(10);
    expect(hub.stats().dropped).toBeGreaterThan(0);
    slow.backlogBytes = 0;
    await new Promise<void>((resolve) => {
      const check = (): void => (slow.got.some((m) => m.type === 'coord.dropped') ? resolve() : void setTimeout(check, 10));
      check();
    });
    const after = slow.got.slice(gotWhileBehind);
    expect(after[0]).toEqual({ type: 'coord.dropped', count: hub.stats().dropped });
    expect(after.slice(1).map((m) => m.type)).toEqual(['@xstate.actor', '@xstate.actor', 'coord.replayed']);
    actor.stop();
  });

  it('a client listening from the start gets the actors as they are created, whose snapshot cannot be read yet', () => {
    const hub = new InspectionHub();
    const early = recorder();
    hub.subscribe(early);
    const actor = createActor(parent, { inspect: hub.observer });
    actor.start();
    const created = early.got.filter((m): m is Extract<InspectMessage, { type: '@xstate.actor' }> => m.type === '@xstate.actor');
    expect(created.map((m) => m.name)).toEqual(['parent', 'kid']);
    expect(created[0]?.snapshot.status).toBe('active');
    expect(early.got.some((m) => m.type === '@xstate.snapshot' && m.snapshot.value === 'running')).toBe(true);
    actor.stop();
  });
});
