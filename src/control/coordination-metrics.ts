/**
 * The gauges of coordination and pools (docs/coordination.md, docs/intake-and-pools.md):
 * rate-limited keys, budgets, held tasks, pools, predicted conflicts and the merge queue.
 * Like every gauge of src/control/metrics.ts they are read from the supervisor's `status()` when scraped, and
 * their names and labels are the same contract.
 */
import { Gauge, type Registry } from 'prom-client';
import type { SupervisorStatus } from '../supervisor/supervisor-api.js';

/** Registers the coordination and pool gauges on `registers`, each read from `read()` at scrape. */
export function registerCoordinationGauges(registers: Registry[], read: () => SupervisorStatus): void {
  new Gauge({
    name: 'coord_rate_limit_in_flight',
    help: 'Attempts holding a start of each rate-limited key.',
    labelNames: ['key'],
    registers,
    collect() {
      this.reset();
      for (const key of read().rateLimits) this.set({ key: key.key }, key.inFlight);
    },
  });
  new Gauge({
    name: 'coord_rate_limit_concurrency',
    help: 'The concurrency AIMD allows each rate-limited key now (-1: unlimited).',
    labelNames: ['key'],
    registers,
    collect() {
      this.reset();
      for (const key of read().rateLimits) this.set({ key: key.key }, key.concurrency ?? -1);
    },
  });
  new Gauge({
    name: 'coord_rate_limit_cooldown',
    help: '1 while a key is in cooldown after a provider rate limit, else 0.',
    labelNames: ['key'],
    registers,
    collect() {
      this.reset();
      for (const key of read().rateLimits) this.set({ key: key.key }, key.cooldownUntil === null ? 0 : 1);
    },
  });
  new Gauge({
    name: 'coord_budget_spent_usd',
    help: 'USD spent per budget scope (global, worker:<id>, task:<id>), as the store holds it.',
    labelNames: ['scope'],
    registers,
    collect() {
      this.reset();
      for (const scope of read().budgets) this.set({ scope: scope.scope }, scope.spentUsd);
    },
  });
  new Gauge({
    name: 'coord_tasks_held',
    help: 'Ready tasks held back, by reason (BUDGET_EXCEEDED, FILES_BUSY, RATE_LIMITED, BREAKER_OPEN).',
    labelNames: ['code'],
    registers,
    collect() {
      this.reset();
      const counts = new Map<string, number>();
      for (const held of Object.values(read().held)) counts.set(held.code ?? 'BREAKER_OPEN', (counts.get(held.code ?? 'BREAKER_OPEN') ?? 0) + 1);
      for (const [code, count] of counts) this.set({ code }, count);
    },
  });
  new Gauge({
    name: 'coord_pool_ready',
    help: 'Whether each pool is ready (1) or not (0): at least its minReady workers, coord\'s own and announced ones, are ready.',
    labelNames: ['pool'],
    registers,
    collect() {
      this.reset();
      for (const pool of read().pools) this.set({ pool: pool.id }, pool.ready ? 1 : 0);
    },
  });
  new Gauge({
    name: 'coord_pool_workers',
    help: 'Workers of each pool: in all (total), ready, and busy with a task.',
    labelNames: ['pool', 'kind'],
    registers,
    collect() {
      this.reset();
      for (const pool of read().pools) {
        for (const kind of ['total', 'ready', 'busy'] as const) this.set({ pool: pool.id, kind }, pool.workers[kind]);
      }
    },
  });
  new Gauge({
    name: 'coord_conflicts_predicted',
    help: 'Conflicts predicted now between live task branches (and with the merge target).',
    registers,
    collect() {
      this.set(read().conflicts.length);
    },
  });
  new Gauge({
    name: 'coord_merge_queue',
    help: 'Task branches in the merge queue per status (pending, merged, conflict, test-failed).',
    labelNames: ['status'],
    registers,
    collect() {
      this.reset();
      for (const [status, count] of Object.entries(read().merge?.counts ?? {})) this.set({ status }, count);
    },
  });
}
