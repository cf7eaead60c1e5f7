/**
 * How each store scales with graph size: builds no-op graphs in three shapes, submits each
 * (graph validation included) and drains it through the dispatcher's path (`claim` →
 * `markRunning` → `complete`, one call each), and compares the cost per task at the larger
 * size with that at the smaller, measured in the same run. A ratio near 1 means linear.
 * Memory runs 10k and 100k tasks; the durable stores, whose calls are write transactions
 * (over TCP for PostgreSQL), run sizes that keep the benchmark within a few minutes.
 *
 * Run: npm run bench -- graph-scale
 */
import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { TaskStore } from '../src/store/task-store.js';
import type { TaskSpec } from '../src/tasks/spec.js';
import { Report } from './lib/report.js';
import { fmt as fmtCell, range, summarize } from './lib/stats.js';
import { benchStores, type BenchStore } from './lib/stores.js';

/** Sizes (small, large) and repetitions per store. */
const PLAN: Record<BenchStore['name'], { sizes: readonly [number, number]; repetitions: number }> = {
  memory: { sizes: [10_000, 100_000], repetitions: 5 },
  SQLite: { sizes: [1_000, 10_000], repetitions: 3 },
  PostgreSQL: { sizes: [200, 2_000], repetitions: 1 },
};
const EDGES_PER_TASK = 2;
const NOW = Date.parse('2025-01-01T00:00:00Z');

// Collect garbage before each timed run, so one run does not pay for the previous run's
// 100k dead records (without this, the same run varies 2-4x on a noisy 2-core machine).
v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc') as () => void;

type Shape = 'chain' | 'fan-out' | 'random DAG';

/** Seeded PRNG (mulberry32): the random DAG is the same on every run. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function task(id: string, deps: string[]): TaskSpec {
  return { id, run: ['true'], deps, priority: 0, needs: [], env: {} };
}

function buildGraph(shape: Shape, n: number): TaskSpec[] {
  const id = (i: number): string => `t${i}`;
  const random = mulberry32(42);
  return Array.from({ length: n }, (_, i) => {
    if (i === 0) return task(id(0), []);
    if (shape === 'chain') return task(id(i), [id(i - 1)]);
    if (shape === 'fan-out') return task(id(i), [id(0)]);
    const deps = new Set<string>();
    for (let e = 0; e < EDGES_PER_TASK; e++) deps.add(id(Math.floor(random() * i)));
    return task(id(i), [...deps]);
  });
}

interface Run {
  submitMs: number;
  drainMs: number;
}

async function runOnce(backend: BenchStore, specs: TaskSpec[]): Promise<Run> {
  const { store, cleanup } = await backend.open();
  try {
    collectGarbage();
    const t0 = performance.now();
    await store.submit(specs, NOW);
    const t1 = performance.now();
    const drained = await drain(store);
    const t2 = performance.now();
    if (drained !== specs.length || !(await store.isSettled())) throw new Error(`drained ${drained} of ${specs.length}`);
    return { submitMs: t1 - t0, drainMs: t2 - t1 };
  } finally {
    await cleanup();
  }
}

/** Claims, starts and completes tasks one at a time until none is ready; returns how many. */
async function drain(store: TaskStore): Promise<number> {
  let drained = 0;
  for (;;) {
    const claim = await store.claim({ nodeId: 'bench', workerId: 'w1', capabilities: [], leaseMs: 60_000, now: NOW });
    if (claim === null) return drained;
    const id = claim.task.spec.id;
    await store.markRunning(id, claim.lease, NOW);
    await store.complete(id, claim.lease, { exitCode: 0, result: null, commit: null, now: NOW });
    drained++;
  }
}

function median(values: number[]): number {
  return summarize(values).median;
}

const fmt = (value: number, digits = 1): string => value.toFixed(digits);

const report = new Report('graph-scale', '4. Graph scale');
const backends = await benchStores();
const memory = backends.find((backend) => backend.name === 'memory');

// Warm-up so the first measured row is not paying for JIT compilation.
if (memory !== undefined) await runOnce(memory, buildGraph('random DAG', 10_000));

const rows: string[][] = [];
const ratios: string[][] = [];
const notes: string[] = [];
for (const backend of backends) {
  const { sizes, repetitions } = PLAN[backend.name];
  try {
    for (const shape of ['chain', 'fan-out', 'random DAG'] as const) {
      const perTask = new Map<number, number>();
      for (const n of sizes) {
        const specs = buildGraph(shape, n);
        const runs: Run[] = [];
        for (let rep = 0; rep < repetitions; rep++) runs.push(await runOnce(backend, specs));
        const submit = median(runs.map((r) => r.submitMs));
        const drainMs = median(runs.map((r) => r.drainMs));
        const total = median(runs.map((r) => r.submitMs + r.drainMs));
        const edges = specs.reduce((sum, s) => sum + s.deps.length, 0);
        perTask.set(n, (total * 1000) / n);
        const totals = summarize(runs.map((r) => r.submitMs + r.drainMs));
        rows.push([backend.name, shape, n.toLocaleString('en-US'), edges.toLocaleString('en-US'), fmt(submit), fmt(drainMs), fmt(total), range(totals), fmt((total * 1000) / n, 2)]);
      }
      const small = perTask.get(sizes[0]) as number;
      const large = perTask.get(sizes[1]) as number;
      ratios.push([backend.name, shape, `${sizes[0].toLocaleString('en-US')} → ${sizes[1].toLocaleString('en-US')}`, fmtCell(small, 2), fmtCell(large, 2), `${fmt(large / small, 2)}×`]);
    }
  } catch (error) {
    notes.push(`${backend.name}: not available: ${error instanceof Error ? error.message : String(error)}`);
  }
}

const sizesText = backends.map(({ name }) => `${name} ${PLAN[name].sizes.map((n) => n.toLocaleString('en-US')).join(' and ')} (${PLAN[name].repetitions === 1 ? 'one run' : `median of ${PLAN[name].repetitions} runs`})`).join(', ');
report.text(
  'Each store alone (no processes): no-op graphs in three shapes, submitted in one call (graph validation included) and '
  + 'drained through the dispatcher\'s path, one call each (`claim` → `markRunning` → `complete`), on a fresh store per run, '
  + `garbage collected before each: ${sizesText}. The baseline is the same shape at the smaller size: the ratio is the `
  + 'per-task cost at the larger size divided by that at the smaller (≈1 means linear).',
);
report.table(null, ['store', 'shape', 'tasks', 'edges', 'submit ms', 'drain ms', 'total ms (median)', 'total min–max', 'µs/task'], rows, ['l', 'l']);
report.table('Per-task cost at the larger size ÷ at the smaller (≈1 means linear):',
  ['store', 'shape', 'sizes', 'µs/task small', 'µs/task large', 'ratio'], ratios, ['l', 'l', 'r']);
if (notes.length > 0) report.text(notes.join('\n\n'));
report.write();
