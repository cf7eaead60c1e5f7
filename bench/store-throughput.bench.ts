/**
 * Store throughput: how many tasks per second each backend submits (one 5k-task graph in one
 * call), claims (one claim per call) and completes (one completion per call), from a single
 * client, with the in-memory store as the baseline measured in the same run. 3 repetitions
 * on a fresh store each; the table shows the median and the spread (min–max).
 *
 * Needs PostgreSQL at $COORD_BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/test);
 * each repetition uses a fresh schema, dropped afterwards.
 *
 * Run: npx tsx bench/store-throughput.bench.ts
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { openStore } from '../src/store/open-store.js';
import type { TaskStore } from '../src/store/task-store.js';
import type { TaskSpec } from '../src/tasks/spec.js';

const TASKS = 5_000;
const REPETITIONS = 3;
const PG_URL = process.env.COORD_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const NOW = Date.parse('2025-01-01T00:00:00Z');

type Phase = 'submit' | 'claim' | 'complete';
const PHASES: readonly Phase[] = ['submit', 'claim', 'complete'];

interface Backend {
  name: string;
  /** Opens a fresh, empty store; returns it and its cleanup. */
  open(): Promise<{ store: TaskStore; cleanup: () => Promise<void> }>;
}

function specs(): TaskSpec[] {
  // A wide graph: every task ready at once, as a claim benchmark needs.
  return Array.from({ length: TASKS }, (_, i) => ({ id: `t${i}`, run: ['true'], deps: [], priority: i % 3, needs: [], env: {} }));
}

async function runOnce(store: TaskStore): Promise<Record<Phase, number>> {
  const graph = specs();
  let start = performance.now();
  await store.submit(graph, NOW);
  const submitMs = performance.now() - start;

  const leases: Array<[string, string]> = [];
  start = performance.now();
  for (let i = 0; i < TASKS; i++) {
    const claim = await store.claim({ nodeId: 'bench', workerId: 'w', capabilities: [], leaseMs: 60_000, now: NOW });
    if (claim === null) throw new Error(`ran out of tasks after ${i}`);
    leases.push([claim.task.spec.id, claim.lease]);
  }
  const claimMs = performance.now() - start;

  start = performance.now();
  for (const [id, lease] of leases) {
    if (!(await store.complete(id, lease, { exitCode: 0, result: null, commit: null, now: NOW }))) throw new Error(`complete ${id} refused`);
  }
  const completeMs = performance.now() - start;
  if (!(await store.isSettled())) throw new Error('store not settled after the run');
  const perSecond = (ms: number): number => (TASKS / ms) * 1000;
  return { submit: perSecond(submitMs), claim: perSecond(claimMs), complete: perSecond(completeMs) };
}

const backends: Backend[] = [
  {
    name: 'memory',
    open: async () => {
      const store = await openStore('memory:');
      return { store, cleanup: () => store.close() };
    },
  },
  {
    name: 'sqlite',
    open: async () => {
      const dir = await mkdtemp(join(tmpdir(), 'coord-bench-'));
      const store = await openStore(`sqlite:${join(dir, 'coord.db')}`);
      return {
        store,
        cleanup: async () => {
          await store.close();
          await rm(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'postgres',
    open: async () => {
      const schema = `coord_bench_${process.pid}_${Date.now().toString(36)}`;
      const store = await openStore(`${PG_URL}?schema=${schema}`);
      return {
        store,
        cleanup: async () => {
          await store.close();
          const client = new pg.Client({ connectionString: PG_URL });
          await client.connect();
          await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
          await client.end();
        },
      };
    },
  },
];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

const results = new Map<string, Record<Phase, number[]>>();
for (const backend of backends) {
  const runs: Record<Phase, number[]> = { submit: [], claim: [], complete: [] };
  for (let rep = 0; rep < REPETITIONS; rep++) {
    const { store, cleanup } = await backend.open();
    try {
      const run = await runOnce(store);
      for (const phase of PHASES) runs[phase].push(run[phase]);
    } finally {
      await cleanup();
    }
  }
  results.set(backend.name, runs);
}

const baseline = results.get('memory') as Record<Phase, number[]>;
console.log(`\nStore throughput: ${TASKS} tasks, ${REPETITIONS} repetitions, one client (Node ${process.version})\n`);
console.log('| backend  | phase    | tasks/s (median) | spread (min–max)      | vs memory |');
console.log('|----------|----------|-----------------:|-----------------------|----------:|');
for (const [name, runs] of results) {
  for (const phase of PHASES) {
    const values = runs[phase];
    const spread = `${fmt(Math.min(...values))}–${fmt(Math.max(...values))}`;
    const ratio = median(values) / median(baseline[phase]);
    console.log(`| ${name.padEnd(8)} | ${phase.padEnd(8)} | ${fmt(median(values)).padStart(16)} | ${spread.padEnd(21)} | ${ratio.toFixed(3).padStart(9)} |`);
  }
}
