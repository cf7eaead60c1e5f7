import { describe, expect, it } from 'vitest';
import { isCoordError, type CoordError } from '../../src/errors.js';
import { validateGraph, type GraphNode } from '../../src/tasks/validate-graph.js';

function caught(run: () => void): CoordError {
  try {
    run();
  } catch (error) {
    if (isCoordError(error)) return error;
    throw error;
  }
  throw new Error('expected a CoordError');
}

const node = (id: string, ...deps: string[]): GraphNode => ({ id, deps });

describe('validateGraph', () => {
  it('accepts a valid DAG, deps in any order', () => {
    expect(() => validateGraph([node('d', 'b', 'c'), node('b', 'a'), node('c', 'a'), node('a')])).not.toThrow();
  });

  it('rejects a duplicate id, naming it and both positions', () => {
    const error = caught(() => validateGraph([node('a'), node('b'), node('a')]));
    expect(error.code).toBe('TASK_DUPLICATE_ID');
    expect(error.message).toContain('"a"');
    expect(error.details).toMatchObject({ taskId: 'a', index: 2, firstIndex: 0 });
  });

  it('rejects an unknown dependency', () => {
    const error = caught(() => validateGraph([node('a'), node('b', 'a', 'x')]));
    expect(error.code).toBe('TASK_UNKNOWN_DEP');
    expect(error.message).toBe('task "b" depends on unknown task "x"');
    expect(error.details).toMatchObject({ taskId: 'b', dep: 'x', index: 1, depIndex: 1 });
  });

  it('accepts a dependency on an existing task', () => {
    const existing = new Set(['x']);
    expect(() => validateGraph([node('b', 'x')], existing)).not.toThrow();
  });

  it('rejects a self-dependency as a cycle', () => {
    const error = caught(() => validateGraph([node('a', 'a')]));
    expect(error.code).toBe('TASK_CYCLE');
    expect(error.message).toContain('a -> a');
  });

  it('names a cycle in dependency order', () => {
    const error = caught(() => validateGraph([node('a', 'b'), node('b', 'c'), node('c', 'a'), node('z')]));
    expect(error.code).toBe('TASK_CYCLE');
    expect(error.message).toBe('task dependency cycle: a -> b -> c -> a');
    expect(error.details).toMatchObject({ cycle: ['a', 'b', 'c', 'a'], taskId: 'c', index: 2, depIndex: 0 });
  });

  it('finds a cycle reachable only through an acyclic prefix', () => {
    const error = caught(() => validateGraph([node('root', 'x'), node('x', 'y'), node('y', 'z'), node('z', 'y')]));
    expect(error.details['cycle']).toEqual(['y', 'z', 'y']);
  });

  it('walks a 100k-task chain without overflowing the stack', () => {
    const n = 100_000;
    // Task i depends on i+1: the DFS from task 0 goes 100k deep.
    const chain = Array.from({ length: n }, (_, i) => node(`t${i}`, ...(i + 1 < n ? [`t${i + 1}`] : [])));
    expect(() => validateGraph(chain)).not.toThrow();
    chain[n - 1] = node(`t${n - 1}`, 't0');
    const error = caught(() => validateGraph(chain));
    expect(error.code).toBe('TASK_CYCLE');
    expect((error.details['cycle'] as string[]).length).toBe(n + 1);
    expect(error.message.length).toBeLessThan(300);
  });
});
