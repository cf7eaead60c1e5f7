import { describe, expect, it } from 'vitest';
import { layoutWorkers, poolAccepts, poolsOf, setupCommands, someWorkerAccepts, type Pool } from '../../src/pools/layout.js';
import { withinPools } from '../../src/pools/pool-strategy.js';
import { createRoundRobin, type WorkerSlot } from '../../src/pool/assign.js';
import type { TaskRecord } from '../../src/lifecycle/task-record.js';

const declared = (pools: Array<Partial<Pool> & { id: string; workers: number }>): Pool[] =>
  poolsOf({ workers: 4, workerCapabilities: [], pools: pools.map((p) => ({ capabilities: [], env: {}, minReady: 1, ...p, agent: p.agent ?? undefined, setup: undefined })) as never });

describe('pools as declared', () => {
  it('without pools, the flat options are one pool, default', () => {
    expect(poolsOf({ workers: 3, workerCapabilities: ['gpu'] })).toEqual([
      { id: 'default', workers: 3, capabilities: ['gpu'], agent: null, setup: [], env: {}, minReady: 1, declared: false },
    ]);
  });

  it('lays out w1…wN across the pools in order, with each pool\'s capabilities', () => {
    const pools = declared([{ id: 'a', workers: 2, capabilities: ['x'] }, { id: 'none', workers: 0 }, { id: 'b', workers: 1 }]);
    expect(layoutWorkers(pools)).toEqual([
      { workerId: 'w1', pool: 'a', capabilities: ['x'] },
      { workerId: 'w2', pool: 'a', capabilities: ['x'] },
      { workerId: 'w3', pool: 'b', capabilities: [] },
    ]);
  });

  it('a setup is one command or a list of them', () => {
    expect(setupCommands(undefined)).toEqual([]);
    expect(setupCommands(['npm', 'ci'])).toEqual([['npm', 'ci']]);
    expect(setupCommands([['npm', 'ci'], ['npm', 'run', 'build']])).toEqual([['npm', 'ci'], ['npm', 'run', 'build']]);
  });
});

describe('which pool takes a task', () => {
  const pools = declared([{ id: 'claude', workers: 2, agent: 'claude' }, { id: 'plain', workers: 2 }]);
  const [claude, plain] = pools as [Pool, Pool];

  it('an agent pool takes its agent\'s tasks, the others the rest', () => {
    expect(poolAccepts(claude, { agent: 'claude' }, pools)).toBe(true);
    expect(poolAccepts(plain, { agent: 'claude' }, pools)).toBe(false);
    expect(poolAccepts(claude, {}, pools)).toBe(false);
    expect(poolAccepts(plain, {}, pools)).toBe(true);
  });

  it('an agent no pool names goes to the pools without one; with only agent pools, a plain task goes anywhere', () => {
    expect(poolAccepts(plain, { agent: 'codex' }, pools)).toBe(true);
    expect(poolAccepts(claude, { agent: 'codex' }, pools)).toBe(false);
    const onlyAgents = declared([{ id: 'c', workers: 1, agent: 'claude' }, { id: 'x', workers: 1, agent: 'codex' }]);
    expect(poolAccepts(onlyAgents[0] as Pool, {}, onlyAgents)).toBe(true);
  });

  it('a task is runnable when a pool with workers of its own takes it and has what it needs', () => {
    const withGpu = declared([{ id: 'gpu', workers: 0, capabilities: ['cuda'] }, { id: 'cpu', workers: 1, capabilities: ['node'] }]);
    expect(someWorkerAccepts({ needs: ['node'] }, withGpu)).toBe(true);
    expect(someWorkerAccepts({ needs: ['cuda'] }, withGpu)).toBe(false);
    expect(someWorkerAccepts({ needs: [] }, withGpu)).toBe(true);
  });

  it('the strategy chooses only among the workers of pools that take the task', () => {
    const poolOf = (id: string): string => (id === 'w1' || id === 'w2' ? 'claude' : 'plain');
    const strategy = withinPools(createRoundRobin(), pools, poolOf);
    const slots: WorkerSlot[] = ['w1', 'w2', 'w3', 'w4'].map((workerId) => ({ workerId, capabilities: [], idle: true }));
    const task = (agent?: string) => ({ spec: { id: 't', needs: [], ...(agent ? { agent } : {}) } }) as unknown as TaskRecord;
    const picks = Array.from({ length: 4 }, () => strategy(task('claude'), slots)?.workerId);
    expect(new Set(picks)).toEqual(new Set(['w1', 'w2']));
    expect(new Set(Array.from({ length: 4 }, () => strategy(task(), slots)?.workerId))).toEqual(new Set(['w3', 'w4']));
    expect(strategy(task('claude'), slots.slice(2))).toBeNull();
  });
});
