import { describe, expect, it } from 'vitest';
import { createActor, createMachine } from 'xstate';
import { actorMessage, definitionOf, inspectedSnapshot, jsonSafe } from '../../src/inspect/serialize.js';
import { workerMachine } from '../../machines/worker.js';

describe('jsonSafe', () => {
  it('drops functions and symbols, marks cycles, and keeps plain data', () => {
    const value: Record<string, unknown> = { n: 1, s: 'x', ok: true, nil: null, f: () => 1, sym: Symbol('s'), list: [1, 'a', () => 2] };
    value['self'] = value;
    expect(jsonSafe(value)).toEqual({ n: 1, s: 'x', ok: true, nil: null, list: [1, 'a', null], self: '[cycle]' });
    expect(JSON.parse(JSON.stringify(jsonSafe(value)))).toEqual(jsonSafe(value));
  });

  it('redacts secrets by key and by shape, whatever the depth', () => {
    const safe = jsonSafe({
      token: 'abc', apiKey: 'k', ANTHROPIC_API_KEY: 'sk-ant-xyz', env: { HOME: '/root' }, headers: { authorization: 'Bearer abc', cookie: 'c' },
      nested: { deeper: { note: 'Bearer eyJhbGciOi', key: 'sk-abcdefghijklmnop' } }, password: 'p', harmless: 'tokens are counted',
    });
    expect(safe).toEqual({
      token: '[redacted]', apiKey: '[redacted]', ANTHROPIC_API_KEY: '[redacted]', env: '[redacted]', headers: { authorization: '[redacted]', cookie: '[redacted]' },
      nested: { deeper: { note: '[redacted]', key: '[redacted]' } }, password: '[redacted]', harmless: 'tokens are counted',
    });
    expect(JSON.stringify(safe)).not.toMatch(/sk-|Bearer|\/root/);
  });

  it('bounds depth, string length, arrays and keys', () => {
    const deep = { a: { b: { c: { d: 1 } } } };
    expect(jsonSafe(deep, { maxDepth: 2, maxString: 5, maxArray: 2, maxKeys: 2 })).toEqual({ a: { b: '[…]' } });
    expect(jsonSafe('abcdefgh', { maxDepth: 2, maxString: 5, maxArray: 2, maxKeys: 2 })).toBe('abcde… [3 more chars]');
    expect(jsonSafe([1, 2, 3, 4], { maxDepth: 2, maxString: 5, maxArray: 2, maxKeys: 2 })).toEqual([1, 2, '… [2 more]']);
    expect(jsonSafe({ a: 1, b: 2, c: 3 }, { maxDepth: 2, maxString: 5, maxArray: 2, maxKeys: 2 })).toEqual({ a: 1, b: 2, '…': '1 more keys' });
  });

  it('turns actors into references, errors, dates, maps and sets into data', () => {
    const actor = createActor(createMachine({ id: 'm', initial: 'a', states: { a: {} } })).start();
    const safe = jsonSafe({ ref: actor, err: new Error('boom'), at: new Date(0), map: new Map([['k', 1]]), set: new Set([1, 2]), big: 10n, inf: Infinity });
    expect(safe).toEqual({ ref: { actor: actor.sessionId }, err: { name: 'Error', message: 'boom' }, at: '1970-01-01T00:00:00.000Z', map: { k: 1 }, set: [1, 2], big: '10', inf: 'Infinity' });
    actor.stop();
  });
});

describe('definitions and actor messages', () => {
  it("gives a machine's config as JSON with functions named, that createMachine loads with the same states", () => {
    const actor = createActor(workerMachine, { input: { workerId: 'w1', worktree: '/wt/w1', capabilities: [], random: Math.random } as never });
    const definition = definitionOf(actor);
    expect(definition).toBeDefined();
    expect(definition).not.toContain('function');
    const loaded = createMachine(JSON.parse(definition ?? '{}'));
    const ids = (machine: unknown): string[] => [...(machine as { idMap: Map<string, unknown> }).idMap.keys()].sort();
    expect(ids(loaded)).toEqual(ids(workerMachine));
    // The same machine is computed once.
    expect(definitionOf(actor)).toBe(definition);
  });

  it('an actor message carries its name, parent, definition and a JSON-safe snapshot', () => {
    const actor = createActor(createMachine({ id: 'door', initial: 'closed', context: { secretToken: 's', opened: 0 }, states: { closed: { on: { OPEN: 'open' } }, open: {} } })).start();
    const message = actorMessage(actor, actor.sessionId);
    expect(message).toMatchObject({ type: '@xstate.actor', name: 'door', sessionId: actor.sessionId, parentId: undefined, snapshot: { status: 'active', value: 'closed', context: { secretToken: '[redacted]', opened: 0 } } });
    expect(inspectedSnapshot(actor.getSnapshot()).value).toBe('closed');
    actor.stop();
  });
});
