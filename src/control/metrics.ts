/**
 * Prometheus metrics of one supervisor, rendered in the text exposition format for the
 * control plane's `/metrics`. The metric names and labels below are a contract: dashboards
 * and alerts are written against them.
 *
 * Two kinds of metric: counters and the duration histogram move with `coord:*` events as
 * they happen; gauges (tasks per status, workers per state, breaker states) are read from
 * `status()` when scraped, so they are never stale and cost nothing between scrapes.
 *
 * Each call makes its own `Registry`, never prom-client's global one: two supervisors in one
 * process (tests, an embedding application) would otherwise clash on metric names.
 */
import { performance } from 'node:perf_hooks';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { workerMachine } from '../../machines/worker.js';
import { TASK_STATUSES } from '../lifecycle/task-record.js';
import type { SupervisorEventBus, SupervisorEvents } from '../supervisor/events.js';
import type { SupervisorStatus } from '../supervisor/supervisor-api.js';
import { OpenAttempts } from './open-attempts.js';
import { registerCoordinationGauges } from './coordination-metrics.js';

/** What the metrics read: the supervisor's events and its status. A `Supervisor` is one. */
export interface MetricsSource {
  events: SupervisorEventBus;
  status(): SupervisorStatus;
}

/** Options for tests and embedders; the defaults suit a daemon. */
export interface MetricsOptions {
  /** A monotonic clock in milliseconds, for attempt durations. Default: `performance.now`. */
  now?: () => number;
  /** Attempts in flight whose start is remembered at most (older ones are dropped). Default 10 000. */
  maxOpenAttempts?: number;
}

/** A supervisor's metrics. */
export interface Metrics {
  /** The registry holding every metric (its own, not prom-client's global one). */
  registry: Registry;
  /** The `Content-Type` of {@link Metrics.render}'s text. */
  contentType: string;
  /** Every metric in the Prometheus text format, gauges read from `status()` now. */
  render(): Promise<string>;
  /** Stops listening to the events and empties the registry. Idempotent. */
  close(): void;
}

/**
 * Attempt durations run from seconds (a lint) to hours (an agent session): buckets from
 * 100 ms to 4 h.
 */
export const TASK_DURATION_BUCKETS: readonly number[] = [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 14_400];

/** The `coord_breaker_state` value of each breaker state. */
export const BREAKER_STATE_VALUES: Readonly<Record<string, number>> = Object.freeze({
  closed: 0,
  halfOpen: 1,
  'half-open': 1,
  open: 2,
});

/** The `code` label of an attempt that did not fail. */
const NO_CODE = 'none';

/** The worker machine's top-level states: each gets a series (0 when no worker is in it). */
const WORKER_STATES: readonly string[] = Object.keys(workerMachine.root.states);

/**
 * Registers coord's metrics and the default process metrics (prefixed `coord_`) on a new
 * registry, and starts listening to `source.events`.
 *
 * @example
 * ```ts
 * const metrics = createMetrics(supervisor);
 * reply.type(metrics.contentType).send(await metrics.render());
 * // at shutdown
 * metrics.close();
 * ```
 */
export function createMetrics(source: MetricsSource, options: MetricsOptions = {}): Metrics {
  const now = options.now ?? (() => performance.now());
  const registry = new Registry();
  const registers = [registry];

  new Gauge({
    name: 'coord_tasks',
    help: 'Tasks per status, read from the supervisor at scrape time.',
    labelNames: ['status'],
    registers,
    collect() {
      const { counts } = source.status();
      this.reset();
      for (const status of TASK_STATUSES) this.set({ status }, counts[status] ?? 0);
      // A status this build does not know still shows (a newer store, say).
      for (const [status, count] of Object.entries(counts)) {
        if (count !== undefined && !(TASK_STATUSES as readonly string[]).includes(status)) this.set({ status }, count);
      }
    },
  });

  const attempts = new Counter({
    name: 'coord_task_attempts_total',
    help: `Attempts that ended, by outcome (complete, failed, released) and error code ("${NO_CODE}" unless failed).`,
    labelNames: ['outcome', 'code'],
    registers,
  });

  const durations = new Histogram({
    name: 'coord_task_duration_seconds',
    help: 'Duration of attempts from start to result, by outcome (complete, failed).',
    labelNames: ['outcome'],
    buckets: [...TASK_DURATION_BUCKETS],
    registers,
  });

  new Gauge({
    name: 'coord_workers',
    help: 'Worker processes per state, read from the supervisor at scrape time.',
    labelNames: ['state'],
    registers,
    collect() {
      const perState = new Map<string, number>(WORKER_STATES.map((state) => [state, 0]));
      for (const worker of source.status().workers) perState.set(worker.state, (perState.get(worker.state) ?? 0) + 1);
      this.reset();
      for (const [state, count] of perState) this.set({ state }, count);
    },
  });

  const restarts = new Counter({
    name: 'coord_worker_restarts_total',
    help: 'Worker processes restarted after an exit.',
    registers,
  });

  new Gauge({
    name: 'coord_breaker_state',
    help: 'Circuit breaker state per scope: 0 closed, 1 half-open, 2 open.',
    labelNames: ['scope'],
    registers,
    collect() {
      const { breakers } = source.status();
      this.reset();
      for (const { scope, state } of breakers) {
        const value = BREAKER_STATE_VALUES[state];
        if (value !== undefined) this.set({ scope }, value);
      }
    },
  });

  registerCoordinationGauges(registers, () => source.status());

  const refused = new Counter({
    name: 'coord_ipc_refused_total',
    help: 'Worker messages refused by the protocol check.',
    registers,
  });

  const agentTokens = new Counter({
    name: 'coord_agent_tokens_total',
    help: 'Tokens agents reported using, by kind (input, output, cache_read, cache_write).',
    labelNames: ['kind'] as const,
    registers,
  });
  const agentCost = new Counter({
    name: 'coord_agent_cost_usd_total',
    help: 'USD agents reported spending (as the CLI reported it).',
    registers,
  });

  // prom-client 15 starts no interval here: each default metric reads the process when
  // scraped. It does enable an event-loop delay monitor and a GC PerformanceObserver, which
  // it gives no way to stop; neither keeps the process alive (both are unref'd by Node).
  // The event-loop lag monitor samples every 10 ms by default: about 1 % of a core on an idle daemon; 100 ms costs a tenth of that.
  collectDefaultMetrics({ register: registry, prefix: 'coord_', eventLoopMonitoringPrecision: 100 });

  const open = new OpenAttempts(options.maxOpenAttempts);
  const endAttempt = (payload: { taskId: string; attempt: number }, outcome: 'complete' | 'failed'): void => {
    const ms = open.end(payload.taskId, payload.attempt, now());
    if (ms !== null) durations.observe({ outcome }, ms / 1000);
  };
  const unsubscribes: Array<() => void> = [];
  const listen = <K extends keyof SupervisorEvents>(name: K, listener: (payload: SupervisorEvents[K]) => void): void => {
    source.events.on(name, listener);
    unsubscribes.push(() => source.events.off(name, listener));
  };
  listen('coord:started', ({ taskId, attempt }) => open.start(taskId, attempt, now()));
  listen('coord:complete', (payload) => {
    attempts.inc({ outcome: 'complete', code: NO_CODE });
    endAttempt(payload, 'complete');
  });
  listen('coord:failed', (payload) => {
    attempts.inc({ outcome: 'failed', code: payload.error.code });
    endAttempt(payload, 'failed');
  });
  listen('coord:released', ({ taskId }) => {
    attempts.inc({ outcome: 'released', code: NO_CODE });
    open.forget(taskId);
  });
  listen('coord:dead', ({ taskId }) => open.forget(taskId));
  listen('coord:worker-restarting', () => restarts.inc());
  listen('coord:protocol-refused', () => refused.inc());
  listen('coord:usage', (usage) => {
    agentTokens.inc({ kind: 'input' }, usage.inputTokens);
    agentTokens.inc({ kind: 'output' }, usage.outputTokens);
    agentTokens.inc({ kind: 'cache_read' }, usage.cacheReadTokens);
    agentTokens.inc({ kind: 'cache_write' }, usage.cacheWriteTokens);
    agentCost.inc(usage.costUsd);
  });

  let closed = false;
  return {
    registry,
    contentType: registry.contentType,
    render: () => registry.metrics(),
    close() {
      if (closed) return;
      closed = true;
      for (const unsubscribe of unsubscribes) unsubscribe();
      open.clear();
      registry.clear();
    },
  };
}
