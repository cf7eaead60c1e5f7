/**
 * How the task queue scales with graph size: builds no-op graphs of 10k and 100k tasks in
 * three shapes, submits each (graph validation included) and drains it through the
 * dispatcher's path (peekReady → assign → markRunning → complete), and compares the cost
 * per task at 100k with that at 10k, measured in the same run. A ratio near 1 means linear.
 *
 * Run: npm run bench -- graph-scale
 */
import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';
import { TaskQueue } from '../src/queue/task-queue.js';
import type { TaskSpec } from '../src/tasks/spec.js';
import { Report } from './lib/report.js';
import { fmt as fmtCell, range, summarize } from './lib/stats.js';

const SIZES = [10_000, 100_000] as const;
const REPETITIONS = 5;
const EDGES_PER_TASK = 2;

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

function runOnce(specs: TaskSpec[]): Run {
  collectGarbage();
  const queue = new TaskQueue();
  const now = Date.now();
  const t0 = performance.now();
  queue.submit(specs);
  const t1 = performance.now();
  let drained = 0;
  for (let next = queue.peekReady(now); next !== undefined; next = queue.peekReady(now)) {
    const id = next.spec.id;
    queue.assign(id, 'w1', 'lease', now);
    queue.markRunning(id, 'lease', now);
    queue.complete(id, 'lease', { exitCode: 0, result: null, commit: null, now });
    drained++;
  }
  const t2 = performance.now();
  if (drained !== specs.length || !queue.isSettled()) throw new Error(`drained ${drained} of ${specs.length}`);
  return { submitMs: t1 - t0, drainMs: t2 - t1 };
}

function median(values: number[]): number {
  return summarize(values).median;
}

const fmt = (value: number, digits = 1): string => value.toFixed(digits);

const report = new Report('graph-scale', '4. Graph scale');

// Warm-up so the first measured row is not paying for JIT compilation.
runOnce(buildGraph('random DAG', 10_000));

const rows: string[][] = [];
const ratios: string[][] = [];
for (const shape of ['chain', 'fan-out', 'random DAG'] as const) {
  const perTask = new Map<number, number>();
  for (const n of SIZES) {
    const specs = buildGraph(shape, n);
    const runs = Array.from({ length: REPETITIONS }, () => runOnce(specs));
    const submit = median(runs.map((r) => r.submitMs));
    const drain = median(runs.map((r) => r.drainMs));
    const total = median(runs.map((r) => r.submitMs + r.drainMs));
    const edges = specs.reduce((sum, s) => sum + s.deps.length, 0);
    perTask.set(n, (total * 1000) / n);
    const totals = summarize(runs.map((r) => r.submitMs + r.drainMs));
    rows.push([shape, n.toLocaleString('en-US'), edges.toLocaleString('en-US'), fmt(submit), fmt(drain), fmt(total), range(totals), fmt((total * 1000) / n, 2)]);
  }
  const small = perTask.get(SIZES[0]) as number;
  const large = perTask.get(SIZES[1]) as number;
  ratios.push([shape, fmtCell(small, 2), fmtCell(large, 2), `${fmt(large / small, 2)}×`]);
}

report.text(
  'The task queue alone (in memory, no processes): no-op graphs of 10k and 100k tasks in three shapes, submitted (graph '
  + 'validation included) and drained through the dispatcher\'s path (`peekReady` → `assign` → `markRunning` → `complete`). '
  + `Median of ${REPETITIONS} runs, garbage collected before each. The baseline is the same shape at ${SIZES[0].toLocaleString('en-US')} `
  + 'tasks: the ratio is the per-task cost at 100k divided by that at 10k (≈1 means linear).',
);
report.table(null, ['shape', 'tasks', 'edges', 'submit ms', 'drain ms', 'total ms (median)', 'total min–max', 'µs/task'], rows);
report.table(`Per-task cost at ${SIZES[1].toLocaleString('en-US')} ÷ at ${SIZES[0].toLocaleString('en-US')} (≈1 means linear):`,
  ['shape', `µs/task at ${SIZES[0].toLocaleString('en-US')}`, `µs/task at ${SIZES[1].toLocaleString('en-US')}`, 'ratio'], ratios);
report.write();
