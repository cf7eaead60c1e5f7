/**
 * Worker pools as declared, and which pool may run which task. Pure: the supervisor lays out
 * its worker slots from {@link poolsOf} and {@link layoutWorkers}, dispatch asks
 * {@link poolAccepts} before it hands a task to a worker, and submission asks
 * {@link someWorkerAccepts} before it stores a task no worker could ever run.
 *
 * Without `pools` the flat options (`workers`, `workerCapabilities`) are one implicit pool,
 * `default`. Worker ids are `w1…wN` across all pools in declaration order, so logs, branches
 * and worktrees keep the names they had before pools.
 */
import type { PoolConfig } from '../config/sections-schema.js';
import type { TaskSpec } from '../tasks/spec.js';

/** The implicit pool of a supervisor that declares none. */
export const DEFAULT_POOL = 'default';

/** A pool with its setup as a list of commands (or none). */
export interface Pool {
  id: string;
  /** coord's own workers in it. */
  workers: number;
  capabilities: readonly string[];
  agent: string | null;
  setup: ReadonlyArray<readonly string[]>;
  env: Readonly<Record<string, string>>;
  minReady: number;
  /** Declared in the options (false: the implicit `default` pool). */
  declared: boolean;
}

/** One of coord's own worker slots: its id and what its pool gives it. */
export interface PoolSlot {
  workerId: string;
  pool: string;
  capabilities: string[];
}

/** The pools of a run: the declared ones, or the implicit `default` pool of `workers` workers. */
export function poolsOf(options: { pools?: readonly PoolConfig[] | undefined; workers: number; workerCapabilities: readonly string[] }): Pool[] {
  if (options.pools === undefined) {
    return [{ id: DEFAULT_POOL, workers: options.workers, capabilities: [...options.workerCapabilities], agent: null, setup: [], env: {}, minReady: 1, declared: false }];
  }
  return options.pools.map((pool) => ({
    id: pool.id,
    workers: pool.workers,
    capabilities: [...pool.capabilities],
    agent: pool.agent ?? null,
    setup: setupCommands(pool.setup),
    env: { ...pool.env },
    minReady: pool.minReady,
    declared: true,
  }));
}

/** `setup` as a list of commands: one argv is a list of one. */
export function setupCommands(setup: PoolConfig['setup']): string[][] {
  if (setup === undefined) return [];
  return typeof setup[0] === 'string' ? [setup as string[]] : (setup as string[][]).map((argv) => [...argv]);
}

/** coord's worker slots, `w1…wN` in pool order. */
export function layoutWorkers(pools: readonly Pool[]): PoolSlot[] {
  const slots: PoolSlot[] = [];
  for (const pool of pools) {
    for (let i = 0; i < pool.workers; i += 1) slots.push({ workerId: `w${slots.length + 1}`, pool: pool.id, capabilities: [...pool.capabilities] });
  }
  return slots;
}

/**
 * Whether `pool` takes `spec`, by its agent. A pool with an `agent` is for that agent's tasks;
 * a task of an agent no pool declares goes to the pools without one. A task with no agent
 * goes to the pools without one too, unless every pool has an agent (then any pool). The
 * capabilities a task `needs` are checked against each worker, as without pools.
 */
export function poolAccepts(pool: Pick<Pool, 'agent'>, spec: Pick<TaskSpec, 'agent'>, pools: ReadonlyArray<Pick<Pool, 'agent'>>): boolean {
  const agent = spec.agent ?? null;
  if (pool.agent !== null) return pool.agent === agent || (agent === null && pools.every((p) => p.agent !== null));
  return agent === null || !pools.some((p) => p.agent === agent);
}

/** Some pool with workers of its own takes `spec` and has every capability it needs. */
export function someWorkerAccepts(spec: Pick<TaskSpec, 'agent' | 'needs'>, pools: readonly Pool[]): boolean {
  return pools.some((pool) => pool.workers > 0 && poolAccepts(pool, spec, pools) && spec.needs.every((need) => pool.capabilities.includes(need)));
}
