import { describe, expect, it } from 'vitest';
import type { CoordErrorCode } from '../../src/errors.js';
import { blockOrder, unblockOrder, type UnblockView } from '../../src/lifecycle/graph-walk.js';
import type { TaskStatus } from '../../src/lifecycle/task-record.js';

interface Node {
  status: TaskStatus;
  deps: string[];
  error?: CoordErrorCode;
}

/** A view over a literal graph; dependents follow the order of `nodes`. */
function view(nodes: Record<string, Node>): UnblockView {
  const ids = Object.keys(nodes);
  const node = (id: string): Node => nodes[id] as Node;
  return {
    status: (id) => node(id).status,
    deps: (id) => node(id).deps,
    errorCode: (id) => node(id).error ?? null,
    dependents: (id) => ids.filter((other) => node(other).deps.includes(id)),
  };
}

describe('blockOrder', () => {
  it('walks breadth first through tasks not yet terminal, once each', () => {
    const g = view({
      x: { status: 'dead', deps: [] },
      a: { status: 'pending', deps: ['x'] },
      b: { status: 'pending', deps: ['x'] },
      c: { status: 'pending', deps: ['a', 'b'] },
      gone: { status: 'cancelled', deps: ['x'] },
      after: { status: 'blocked', deps: ['gone'] },
    });
    expect(blockOrder(['a', 'b', 'gone'], g)).toEqual(['a', 'b', 'c']);
  });
});

describe('unblockOrder', () => {
  it('revives a task only once every dependency can complete again, revisiting through later revivals', () => {
    // x was redriven (ready). c depends on a (one step away) and d (two steps): it is reached
    // through a before d is revived, skipped, then revived when d is.
    const g = view({
      x: { status: 'ready', deps: [] },
      a: { status: 'blocked', deps: ['x'], error: 'DEP_DEAD' },
      b: { status: 'blocked', deps: ['x'], error: 'DEP_DEAD' },
      d: { status: 'blocked', deps: ['b'], error: 'DEP_DEAD' },
      c: { status: 'blocked', deps: ['a', 'd'], error: 'DEP_DEAD' },
    });
    expect(unblockOrder(['a', 'b'], g)).toEqual(['a', 'b', 'd', 'c']);
  });

  it('leaves tasks blocked for another reason, or by another dead dependency', () => {
    const g = view({
      x: { status: 'ready', deps: [] },
      y: { status: 'dead', deps: [] },
      conflict: { status: 'blocked', deps: ['x'], error: 'DEP_CONFLICT' },
      both: { status: 'blocked', deps: ['x', 'y'], error: 'DEP_DEAD' },
      gone: { status: 'cancelled', deps: ['x'] },
      ok: { status: 'blocked', deps: ['x'], error: 'DEP_DEAD' },
    });
    expect(unblockOrder(['conflict', 'both', 'gone', 'ok'], g)).toEqual(['ok']);
  });
});
