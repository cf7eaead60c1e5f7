/**
 * 3. Store throughput: how many tasks per second each store backend submits (one graph in
 * one call), claims (one claim per call) and completes (one completion per call), from a
 * single client, with the in-memory store as the baseline measured in the same run.
 * 3 repetitions on a fresh store each; the table shows the median and the spread (min–max).
 * 5k tasks, 1k for PostgreSQL, whose 4–6 ms per call would otherwise take the benchmark
 * past two minutes.
 *
 * The PostgreSQL store uses `BENCH_COORD_PG_URL`, by default the local database pg-boss uses
 * in the dispatch benchmark (bench/lib/peers.ts); each repetition gets a schema of its own,
 * dropped afterwards. A backend that cannot be opened becomes a note instead of rows.
 *
 * Run: npm run bench -- store-throughput
 */
import { performance } from 'node:perf_hooks';
import type { TaskStore } from '../src/store/task-store.js';
import type { TaskSpec } from '../src/tasks/spec.js';
import { Report } from './lib/report.js';
import { fmt, range, ratio, summarize, type Summary } from './lib/stats.js';
import { benchStores, type BenchStore } from './lib/stores.js';

const TASKS = 5_000;
/** PostgreSQL's claims and completions cost milliseconds each: fewer keep the run short. */
const PG_TASKS = 1_000;
const REPETITIONS = 3;
const NOW = Date.parse('2025-01-01T00:00:00Z');

type Phase = 'submit' | 'claim' | 'complete';
const PHASES: readonly Phase[] = ['submit', 'claim', 'complete'];

const report = new Report('store-throughput', '3. Store throughput');

interface Backend extends BenchStore {
  tasks: number;
}

function specs(tasks: number): TaskSpec[] {
  // A wide graph: every task ready at once, as a claim benchmark needs.
  return Array.from({ length: tasks }, (_, i) => ({ id: `t${i}`, run: ['true'], deps: [], priority: i % 3, needs: [], env: {} }));
}

/** One submit → claim all → complete all pass; tasks/s of each phase. */
async function runOnce(store: TaskStore, tasks: number): Promise<Record<Phase, number>> {
  const graph = specs(tasks);
  let start = performance.now();
  await store.submit(graph, NOW);
  const submitMs = performance.now() - start;

  const leases: Array<[string, string]> = [];
  start = performance.now();
  for (let i = 0; i < tasks; i++) {
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
  const perSecond = (ms: number): number => (tasks / ms) * 1000;
  return { submit: perSecond(submitMs), claim: perSecond(claimMs), complete: perSecond(completeMs) };
}

const backends: Backend[] = (await benchStores()).map((backend) => ({ ...backend, tasks: backend.name === 'PostgreSQL' ? PG_TASKS : TASKS }));

/** Each backend's samples per phase, or why it could not run. */
const results = new Map<Backend, Record<Phase, Summary> | string>();
for (const backend of backends) {
  const runs: Record<Phase, number[]> = { submit: [], claim: [], complete: [] };
  try {
    for (let rep = 0; rep < REPETITIONS; rep++) {
      const { store, cleanup } = await backend.open();
      try {
        const run = await runOnce(store, backend.tasks);
        for (const phase of PHASES) runs[phase].push(run[phase]);
      } finally {
        await cleanup();
      }
    }
    results.set(backend, { submit: summarize(runs.submit), claim: summarize(runs.claim), complete: summarize(runs.complete) });
  } catch (error) {
    results.set(backend, `not available: ${error instanceof Error ? error.message : String(error)}`);
  }
}

report.text(
  'The task store alone, no processes: one client submits a graph in one call (every task ready: no dependencies), then claims '
  + 'every task one call at a time, then completes every claim one call at a time, on a fresh store each repetition: '
  + `${TASKS.toLocaleString('en-US')} tasks, ${PG_TASKS.toLocaleString('en-US')} for PostgreSQL (its per-call cost would otherwise `
  + `take the benchmark past two minutes; ${TASKS.toLocaleString('en-US')} gave the same rates within the noise). `
  + `tasks/s is the median of ${REPETITIONS} repetitions; "÷ memory" divides the backend's rate by the `
  + 'in-memory store\'s for the same phase (below 1 = slower). SQLite is a file in the system temp folder; PostgreSQL is the '
  + 'local server, over TCP.',
);
const baseline = [...results].find(([backend]) => backend.name === 'memory')?.[1];
const rows: string[][] = [];
const notes: string[] = [];
for (const [{ name, tasks }, phases] of results) {
  if (typeof phases === 'string') {
    rows.push([name, '–', '–', 'not available (below)', '–', '–', '–']);
    notes.push(`${name}: ${phases}`);
    continue;
  }
  for (const phase of PHASES) {
    const summary = phases[phase];
    const versus = typeof baseline === 'object' ? ratio(summary.median, baseline[phase].median) : '–';
    rows.push([name, phase, tasks.toLocaleString('en-US'), fmt(summary.median), range(summary), fmt(1e6 / summary.median), name === 'memory' ? '' : versus]);
  }
}
report.table(null, ['store', 'phase', 'tasks', 'tasks/s (median)', 'min–max', 'µs/task', '÷ memory'], rows, ['l', 'l', 'r', 'r', 'r', 'r', 'r']);
if (notes.length > 0) report.text(notes.join('\n\n'));
report.text(
  'Claim and complete are one call per task, as the dispatcher makes them, so they show the per-call cost of each store: a '
  + 'write transaction per call in both durable stores, over TCP for PostgreSQL. Submit takes the whole graph in one '
  + 'call. The dispatch benchmark shows what these costs come to beside the rest of a task.',
);
report.write();
