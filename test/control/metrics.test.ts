/** The Prometheus metrics: a real event bus, a fake status, the rendered text read back. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics, type Metrics } from '../../src/control/metrics.js';
import { SupervisorEventBus, type SupervisorEvents } from '../../src/supervisor/events.js';
import type { SupervisorStatus } from '../../src/supervisor/supervisor-api.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Reads the text exposition format's sample lines (comments and blank lines skipped). */
function parseSamples(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null) throw new Error(`not a sample line: ${line}`);
    const [, name = '', labelText = '', value = ''] = match;
    const labels: Record<string, string> = {};
    for (const pair of labelText.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[pair[1] ?? ''] = (pair[2] ?? '').replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    samples.push({ name, labels, value: value === '+Inf' ? Infinity : Number(value) });
  }
  return samples;
}

/** The value of the one sample of `name` whose labels include `labels`. */
function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

function fakeStatus(overrides: Partial<SupervisorStatus> = {}): SupervisorStatus {
  return {
    state: 'running', workers: [], pools: [], counts: {}, breakers: [], protocolRefusals: 0, liveness: {}, paths: null,
    rateLimits: [], budgets: [], merge: null, conflicts: [], held: {}, ...overrides,
  };
}

const worker = (id: string, state: string): SupervisorStatus['workers'][number] => ({
  id, worktree: `/wt/${id}`, state, pid: 100, restarts: 0, task: null, exit: null, repairs: 0, retired: null, leaving: false, pool: 'default',
});

const EVENT_NAMES = [
  'coord:started', 'coord:complete', 'coord:failed', 'coord:released', 'coord:dead', 'coord:worker-restarting', 'coord:protocol-refused',
] as const satisfies ReadonlyArray<keyof SupervisorEvents>;

describe('createMetrics', () => {
  let events: SupervisorEventBus;
  let status: SupervisorStatus;
  let clock: number;
  let metrics: Metrics;
  const open = (maxOpenAttempts?: number): Metrics => {
    events = new SupervisorEventBus();
    status = fakeStatus();
    clock = 0;
    metrics = createMetrics({ events, status: () => status }, { now: () => clock, ...(maxOpenAttempts === undefined ? {} : { maxOpenAttempts }) });
    return metrics;
  };
  const scrape = async (): Promise<Sample[]> => parseSamples(await metrics.render());
  const started = (taskId: string, attempt = 1): void => {
    events.emit('coord:started', { taskId, workerId: 'w1', attempt });
  };
  const completed = (taskId: string, attempt = 1): void => {
    events.emit('coord:complete', { taskId, workerId: 'w1', attempt, exitCode: 0, result: null, commit: null });
  };
  const failed = (taskId: string, code: 'TASK_EXIT_NONZERO' | 'TASK_TIMEOUT', attempt = 1): void => {
    events.emit('coord:failed', { taskId, workerId: 'w1', attempt, error: { code, message: 'no' }, willRetry: false, output: [], logFile: null });
  };

  afterEach(() => metrics.close());

  it('counts tasks per status at scrape time, every known status present', async () => {
    open();
    status = fakeStatus({ counts: { ready: 3, running: 2, complete: 7 } });
    let samples = await scrape();
    expect(valueOf(samples, 'coord_tasks', { status: 'ready' })).toBe(3);
    expect(valueOf(samples, 'coord_tasks', { status: 'running' })).toBe(2);
    expect(valueOf(samples, 'coord_tasks', { status: 'complete' })).toBe(7);
    for (const zero of ['pending', 'assigned', 'failed', 'dead', 'blocked', 'cancelled']) {
      expect(valueOf(samples, 'coord_tasks', { status: zero })).toBe(0);
    }

    // read again at the next scrape, not cached
    status = fakeStatus({ counts: { complete: 12 } });
    samples = await scrape();
    expect(valueOf(samples, 'coord_tasks', { status: 'complete' })).toBe(12);
    expect(valueOf(samples, 'coord_tasks', { status: 'ready' })).toBe(0);
  });

  it('counts ended attempts by outcome and code', async () => {
    open();
    completed('a');
    completed('b');
    failed('c', 'TASK_EXIT_NONZERO');
    failed('d', 'TASK_TIMEOUT');
    failed('e', 'TASK_TIMEOUT');
    events.emit('coord:released', { taskId: 'f', reason: 'stop requested' });
    const samples = await scrape();
    expect(valueOf(samples, 'coord_task_attempts_total', { outcome: 'complete', code: 'none' })).toBe(2);
    expect(valueOf(samples, 'coord_task_attempts_total', { outcome: 'failed', code: 'TASK_EXIT_NONZERO' })).toBe(1);
    expect(valueOf(samples, 'coord_task_attempts_total', { outcome: 'failed', code: 'TASK_TIMEOUT' })).toBe(2);
    expect(valueOf(samples, 'coord_task_attempts_total', { outcome: 'released', code: 'none' })).toBe(1);
  });

  it('observes attempt durations from start to result, by outcome', async () => {
    open();
    started('a');
    clock = 2_000;
    completed('a'); // 2 s
    started('b');
    clock = 2_000 + 600_000;
    failed('b', 'TASK_TIMEOUT'); // 600 s
    started('c');
    clock += 250;
    completed('c'); // 0.25 s
    completed('never-started'); // counted as an attempt, no duration
    const samples = await scrape();
    expect(valueOf(samples, 'coord_task_duration_seconds_count', { outcome: 'complete' })).toBe(2);
    expect(valueOf(samples, 'coord_task_duration_seconds_sum', { outcome: 'complete' })).toBeCloseTo(2.25, 9);
    expect(valueOf(samples, 'coord_task_duration_seconds_bucket', { outcome: 'complete', le: '0.5' })).toBe(1);
    expect(valueOf(samples, 'coord_task_duration_seconds_bucket', { outcome: 'complete', le: '5' })).toBe(2);
    expect(valueOf(samples, 'coord_task_duration_seconds_count', { outcome: 'failed' })).toBe(1);
    expect(valueOf(samples, 'coord_task_duration_seconds_sum', { outcome: 'failed' })).toBe(600);
    expect(valueOf(samples, 'coord_task_duration_seconds_bucket', { outcome: 'failed', le: '300' })).toBe(0);
    expect(valueOf(samples, 'coord_task_duration_seconds_bucket', { outcome: 'failed', le: '900' })).toBe(1);
    expect(valueOf(samples, 'coord_task_duration_seconds_bucket', { outcome: 'failed', le: '14400' })).toBe(1);
    expect(valueOf(samples, 'coord_task_attempts_total', { outcome: 'complete', code: 'none' })).toBe(3);
  });

  it('times only the attempt in flight: a stale result, a released or dead task observe nothing', async () => {
    open();
    started('a', 1);
    clock = 1_000;
    started('a', 2); // attempt 1's result never came; attempt 2 runs
    clock = 4_000;
    failed('a', 'TASK_EXIT_NONZERO', 1); // late result of attempt 1: counted, not timed
    completed('a', 2); // 3 s
    started('r');
    events.emit('coord:released', { taskId: 'r', reason: 'stop requested' });
    clock = 9_000;
    completed('r'); // its start was forgotten at the release
    started('d');
    events.emit('coord:dead', { taskId: 'd', error: { code: 'WORKER_CRASHED', message: 'gone' } });
    failed('d', 'TASK_EXIT_NONZERO');
    const samples = await scrape();
    expect(valueOf(samples, 'coord_task_duration_seconds_count', { outcome: 'complete' })).toBe(1);
    expect(valueOf(samples, 'coord_task_duration_seconds_sum', { outcome: 'complete' })).toBe(3);
    expect(valueOf(samples, 'coord_task_duration_seconds_count', { outcome: 'failed' })).toBeUndefined();
  });

  it('remembers at most maxOpenAttempts starts, dropping the oldest', async () => {
    open(2);
    started('a');
    started('b');
    started('c'); // drops a
    clock = 1_000;
    completed('a');
    completed('b');
    completed('c');
    const samples = await scrape();
    expect(valueOf(samples, 'coord_task_duration_seconds_count', { outcome: 'complete' })).toBe(2);
  });

  it('counts workers per state, restarts and refused messages', async () => {
    open();
    status = fakeStatus({ workers: [worker('w1', 'busy'), worker('w2', 'busy'), worker('w3', 'idle'), worker('w4', 'restarting')] });
    events.emit('coord:worker-restarting', { workerId: 'w4', restart: 1, delayMs: 100, code: 1, signal: null, cause: 'unstable' });
    events.emit('coord:worker-restarting', { workerId: 'w4', restart: 2, delayMs: 200, code: 1, signal: null, cause: 'task' });
    events.emit('coord:protocol-refused', { workerId: 'w2', reason: 'bad json', refusedType: null });
    const samples = await scrape();
    expect(valueOf(samples, 'coord_workers', { state: 'busy' })).toBe(2);
    expect(valueOf(samples, 'coord_workers', { state: 'idle' })).toBe(1);
    expect(valueOf(samples, 'coord_workers', { state: 'restarting' })).toBe(1);
    expect(valueOf(samples, 'coord_workers', { state: 'hung' })).toBe(0);
    expect(valueOf(samples, 'coord_worker_restarts_total')).toBe(2);
    expect(valueOf(samples, 'coord_ipc_refused_total')).toBe(1);
  });

  it('gives each breaker 0 closed, 1 half-open, 2 open', async () => {
    open();
    status = fakeStatus({
      breakers: [{ scope: 'worker:w1', state: 'closed' }, { scope: 'worker:w2', state: 'halfOpen' }, { scope: 'command:npm', state: 'open' }],
    });
    const text = await metrics.render();
    expect(text).toContain('# HELP coord_breaker_state Circuit breaker state per scope: 0 closed, 1 half-open, 2 open.');
    const samples = parseSamples(text);
    expect(valueOf(samples, 'coord_breaker_state', { scope: 'worker:w1' })).toBe(0);
    expect(valueOf(samples, 'coord_breaker_state', { scope: 'worker:w2' })).toBe(1);
    expect(valueOf(samples, 'coord_breaker_state', { scope: 'command:npm' })).toBe(2);
  });

  it('includes the default process metrics, prefixed coord_', async () => {
    open();
    const samples = await scrape();
    expect(valueOf(samples, 'coord_process_cpu_user_seconds_total')).toBeGreaterThanOrEqual(0);
    expect(valueOf(samples, 'coord_process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(samples.some((s) => s.name.startsWith('coord_nodejs_heap_size_total_bytes'))).toBe(true);
    expect(metrics.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  });

  it('keeps two instances in one process apart (own registries)', async () => {
    open();
    const other = new SupervisorEventBus();
    const second = createMetrics({ events: other, status: () => fakeStatus({ counts: { ready: 9 } }) });
    try {
      other.emit('coord:protocol-refused', { workerId: 'w1', reason: 'x', refusedType: null });
      expect(valueOf(await scrape(), 'coord_ipc_refused_total')).toBe(0);
      expect(valueOf(parseSamples(await second.render()), 'coord_ipc_refused_total')).toBe(1);
      expect(valueOf(parseSamples(await second.render()), 'coord_tasks', { status: 'ready' })).toBe(9);
    } finally {
      second.close();
    }
  });

  it('close() removes its listeners and empties the registry', async () => {
    const before = new SupervisorEventBus();
    const counts = (bus: SupervisorEventBus): number[] => EVENT_NAMES.map((name) => bus.listenerCount(name));
    expect(counts(before)).toEqual(EVENT_NAMES.map(() => 0));
    open();
    expect(counts(events).every((n) => n === 1)).toBe(true);
    metrics.close();
    expect(counts(events)).toEqual(EVENT_NAMES.map(() => 0));
    expect((await metrics.render()).trim()).toBe('');
    metrics.close(); // idempotent
  });

  it('lets the process exit once closed (no timer keeps it alive)', () => {
    const root = path.resolve(import.meta.dirname, '../..');
    const script = [
      "import { createMetrics } from './src/control/metrics.ts';",
      "import { SupervisorEventBus } from './src/supervisor/events.ts';",
      'const events = new SupervisorEventBus();',
      "const metrics = createMetrics({ events, status: () => ({ state: 'running', workers: [], pools: [], counts: {}, breakers: [], protocolRefusals: 0, paths: null, rateLimits: [], budgets: [], merge: null, conflicts: [], held: {} }) });",
      "await metrics.render().then(() => metrics.close()).then(() => console.log('closed'));",
    ].join('\n');
    // No process.exit: the child ends only if nothing keeps its event loop busy. The
    // timeout fails the test instead of hanging it.
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', timeout: 30_000 });
    expect(child.error).toBeUndefined();
    expect(child.stderr).toBe('');
    expect(child.stdout.trim()).toBe('closed');
    expect(child.status).toBe(0);
  });
});

describe('coordination gauges', () => {
  it('read rate limits, budgets, holds, conflicts and the merge queue from status when scraped', async () => {
    const status = fakeStatus({
      rateLimits: [{ key: 'anthropic', cooldownUntil: new Date(Date.now() + 5_000).toISOString(), concurrency: 2, inFlight: 1, windowStarts: 3, requestsPerMinute: 50, windowTokens: 0, tokensPerMinute: null, granted: 3, waits: 1, signals: 1 }],
      budgets: [{ scope: 'global', spentUsd: 1.5, capUsd: 10, warned: false, exceeded: false }],
      held: { a: { code: 'BUDGET_EXCEEDED', scope: 'budget:global' }, b: { code: 'BUDGET_EXCEEDED', scope: 'budget:global' }, c: { code: null, scope: 'worker:w1' } },
      conflicts: [{ tasks: ['a', 'b'], files: ['x.ts'], detectedAt: new Date().toISOString() }],
      merge: { target: 'main', counts: { pending: 1, merged: 4, conflict: 0, 'test-failed': 1 } },
    });
    const metrics = createMetrics({ events: new SupervisorEventBus(), status: () => status });
    try {
      const samples = parseSamples(await metrics.render());
      expect(valueOf(samples, 'coord_rate_limit_in_flight', { key: 'anthropic' })).toBe(1);
      expect(valueOf(samples, 'coord_rate_limit_concurrency', { key: 'anthropic' })).toBe(2);
      expect(valueOf(samples, 'coord_rate_limit_cooldown', { key: 'anthropic' })).toBe(1);
      expect(valueOf(samples, 'coord_budget_spent_usd', { scope: 'global' })).toBe(1.5);
      expect(valueOf(samples, 'coord_tasks_held', { code: 'BUDGET_EXCEEDED' })).toBe(2);
      expect(valueOf(samples, 'coord_tasks_held', { code: 'BREAKER_OPEN' })).toBe(1);
      expect(valueOf(samples, 'coord_conflicts_predicted')).toBe(1);
      expect(valueOf(samples, 'coord_merge_queue', { status: 'merged' })).toBe(4);
    } finally {
      metrics.close();
    }
  });
});
