import { describe, expect, it } from 'vitest';
import { isCoordError } from '../../src/errors.js';
import { TASK_STATUSES, TaskQueue, type TaskRecord, type TaskStatus } from '../../src/queue/task-queue.js';
import { TaskSpecSchema, type TaskSpec, type TaskSpecInput } from '../../src/tasks/spec.js';

const T0 = Date.parse('2025-01-01T00:00:00Z');

function spec(id: string, extra: Partial<TaskSpecInput> = {}): TaskSpec {
  return TaskSpecSchema.parse({ id, run: ['true'], ...extra });
}

/** Assigns, starts and completes `id`; returns the lease used. */
function runToCompletion(queue: TaskQueue, id: string, now = T0): void {
  const lease = `${id}-lease-${queue.get(id)?.attempts.length ?? 0}`;
  expect(queue.assign(id, 'w1', lease, now)).not.toBeNull();
  expect(queue.markRunning(id, lease, now)).toBe(true);
  expect(queue.complete(id, lease, { exitCode: 0, result: null, commit: null, now })).toBe(true);
}

function start(queue: TaskQueue, id: string, lease: string, now = T0): number {
  const attempt = queue.assign(id, 'w1', lease, now);
  if (attempt === null) throw new Error(`${id} was not ready`);
  queue.markRunning(id, lease, now);
  return attempt;
}

const failure = (now: number, retryable = true, retryAfterMs: number | null = null) => ({
  code: 'TASK_EXIT_NONZERO', message: 'exit 1', exitCode: 1, retryable, retryAfterMs, now,
});

const readyIds = (queue: TaskQueue, now = T0): string[] => [...queue.readyTasks(now)].map((t) => t.spec.id);
const status = (queue: TaskQueue, id: string): TaskStatus | undefined => queue.get(id)?.status;

function expectCountsConsistent(queue: TaskQueue): void {
  const tally = Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as Record<TaskStatus, number>;
  for (const record of queue.all()) tally[record.status] += 1;
  expect(queue.counts()).toEqual(tally);
  const inFlight = queue.all().filter((r) => r.status === 'assigned' || r.status === 'running').map((r) => r.spec.id);
  expect(queue.inFlight().sort()).toEqual(inFlight.sort());
}

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (isCoordError(error)) return error.code;
    throw error;
  }
  return 'no error';
}

describe('TaskQueue: ordering', () => {
  it('hands out higher priority first and FIFO among equal priority', () => {
    const queue = new TaskQueue();
    queue.submit([spec('a'), spec('b', { priority: 5 }), spec('c', { priority: 5 }), spec('d'), spec('e', { priority: -1 })]);
    expect(readyIds(queue)).toEqual(['b', 'c', 'a', 'd', 'e']);
    expect(queue.peekReady(T0)?.spec.id).toBe('b');
    const order: string[] = [];
    for (let task = queue.peekReady(T0); task !== undefined; task = queue.peekReady(T0)) {
      order.push(task.spec.id);
      runToCompletion(queue, task.spec.id);
    }
    expect(order).toEqual(['b', 'c', 'a', 'd', 'e']);
    expect(queue.isSettled()).toBe(true);
  });

  it('lets the dispatcher pass over a task no idle worker can take', () => {
    const queue = new TaskQueue();
    queue.submit([spec('gpu', { priority: 9, needs: ['gpu'] }), spec('plain'), spec('net', { needs: ['net'] })]);
    const cpuOnly = (needs: readonly string[]) => needs.length === 0;
    expect(queue.peekReady(T0, cpuOnly)?.spec.id).toBe('plain');
    expect([...queue.readyTasks(T0, cpuOnly)].map((t) => t.spec.id)).toEqual(['plain']);

    // Without a filter the walk still yields everything in order; skipping keeps the task ready.
    const taken: string[] = [];
    for (const task of queue.readyTasks(T0)) {
      if (task.spec.needs.length > 0) continue;
      queue.assign(task.spec.id, 'w1', 'L', T0);
      taken.push(task.spec.id);
    }
    expect(taken).toEqual(['plain']);
    expect(readyIds(queue)).toEqual(['gpu', 'net']);
  });

  it('yields each ready task once while the caller assigns during the walk', () => {
    const queue = new TaskQueue();
    queue.submit(Array.from({ length: 100 }, (_, i) => spec(`t${i}`, { priority: i % 3 })));
    const seen: string[] = [];
    for (const task of queue.readyTasks(T0)) {
      seen.push(task.spec.id);
      queue.assign(task.spec.id, 'w1', `L-${task.spec.id}`, T0);
    }
    expect(new Set(seen).size).toBe(100);
    expect(queue.counts().assigned).toBe(100);
    expectCountsConsistent(queue);
  });
});

describe('TaskQueue: dependencies', () => {
  it('keeps a dependent pending until its dependency completes', () => {
    const queue = new TaskQueue();
    queue.submit([spec('b', { deps: ['a'] }), spec('a')]);
    expect(status(queue, 'b')).toBe('pending');
    expect(queue.get('b')?.unmetDeps).toBe(1);
    expect(readyIds(queue)).toEqual(['a']);
    runToCompletion(queue, 'a');
    expect(status(queue, 'b')).toBe('ready');
  });

  it('unlocks a diamond only when both sides are complete', () => {
    const queue = new TaskQueue();
    queue.submit([spec('a'), spec('b', { deps: ['a'] }), spec('c', { deps: ['a'] }), spec('d', { deps: ['b', 'c'] })]);
    runToCompletion(queue, 'a');
    expect(readyIds(queue)).toEqual(['b', 'c']);
    runToCompletion(queue, 'b');
    expect(status(queue, 'd')).toBe('pending');
    runToCompletion(queue, 'c');
    expect(status(queue, 'd')).toBe('ready');
    expect(queue.get('a')?.dependents).toEqual(['b', 'c']);
  });

  it('counts a repeated dependency once', () => {
    const queue = new TaskQueue();
    queue.submit([spec('a'), spec('b', { deps: ['a', 'a'] })]);
    expect(queue.get('b')?.unmetDeps).toBe(1);
    runToCompletion(queue, 'a');
    expect(status(queue, 'b')).toBe('ready');
  });

  it('treats a dependency already complete as met and one already dead as blocking', () => {
    const queue = new TaskQueue();
    queue.submit([spec('done'), spec('doomed')]);
    runToCompletion(queue, 'done');
    start(queue, 'doomed', 'L');
    queue.fail('doomed', 'L', failure(T0, false));
    queue.submit([spec('x', { deps: ['done'] }), spec('y', { deps: ['doomed'] }), spec('z', { deps: ['y'] })]);
    expect(status(queue, 'x')).toBe('ready');
    expect(status(queue, 'y')).toBe('blocked');
    expect(queue.get('y')?.error).toMatchObject({ code: 'DEP_DEAD', message: 'dependency "doomed" is dead' });
    expect(status(queue, 'z')).toBe('blocked');
    expectCountsConsistent(queue);
  });
});

describe('TaskQueue: retries', () => {
  it('waits out an exponential backoff with full jitter, then goes dead', () => {
    const queue = new TaskQueue({ maxAttempts: 3, random: () => 0.5 });
    queue.submit([spec('a')]);
    expect(start(queue, 'a', 'L1', T0)).toBe(1);

    // failure 1: cap 1000 ms, jitter 0.5 → 500 ms
    expect(queue.fail('a', 'L1', failure(T0))).toEqual({ status: 'failed', retryAt: T0 + 500, blocked: [] });
    expect(status(queue, 'a')).toBe('failed');
    expect(queue.nextDelayMs(T0)).toBe(500);
    expect(queue.peekReady(T0 + 499)).toBeUndefined();
    expect(queue.isSettled()).toBe(false);
    expect(queue.peekReady(T0 + 500)?.spec.id).toBe('a');
    expect(queue.nextDelayMs(T0 + 500)).toBeNull();

    // failure 2: cap 2000 ms → 1000 ms
    const t1 = T0 + 500;
    expect(start(queue, 'a', 'L2', t1)).toBe(2);
    expect(queue.fail('a', 'L2', failure(t1))?.retryAt).toBe(t1 + 1000);
    expect(queue.promoteDue(t1 + 999)).toEqual([]);
    expect(queue.promoteDue(t1 + 1000)).toEqual(['a']);

    // failure 3: attempts exhausted
    expect(start(queue, 'a', 'L3', t1 + 1000)).toBe(3);
    expect(queue.fail('a', 'L3', failure(t1 + 1000))?.status).toBe('dead');
    const record = queue.get('a');
    expect(record?.status).toBe('dead');
    expect(record?.attempts.map((a) => a.code)).toEqual(['TASK_EXIT_NONZERO', 'TASK_EXIT_NONZERO', 'TASK_EXIT_NONZERO']);
    expect(record?.error).toEqual({ code: 'TASK_EXIT_NONZERO', message: 'exit 1' });
    expect(record?.finishedAt).toBe(new Date(t1 + 1000).toISOString());
    expect(queue.isSettled()).toBe(true);
  });

  it('uses the task backoff, honours retryAfterMs as a floor, and retries at once on a zero delay', () => {
    const queue = new TaskQueue({ maxAttempts: 5, random: () => 0 });
    queue.submit([spec('a', { backoff: { initialMs: 100, maxMs: 100, factor: 3 } }), spec('b', { maxAttempts: 1 })]);
    start(queue, 'a', 'L1');
    expect(queue.fail('a', 'L1', failure(T0, true, 2_500))?.retryAt).toBe(T0 + 2_500);
    queue.promoteDue(T0 + 2_500);
    start(queue, 'a', 'L2', T0 + 2_500);
    expect(queue.fail('a', 'L2', failure(T0 + 2_500))).toEqual({ status: 'ready', retryAt: T0 + 2_500, blocked: [] });
    // the task's own maxAttempts wins over the queue default
    start(queue, 'b', 'LB');
    expect(queue.fail('b', 'LB', failure(T0))?.status).toBe('dead');
  });

  it('does not retry a failure marked not retryable', () => {
    const queue = new TaskQueue({ maxAttempts: 3 });
    queue.submit([spec('a')]);
    start(queue, 'a', 'L');
    expect(queue.fail('a', 'L', failure(T0, false))?.status).toBe('dead');
  });

  it('blocks every transitive dependent of a dead task, once each', () => {
    const queue = new TaskQueue();
    queue.submit([
      spec('a'), spec('b', { deps: ['a'] }), spec('c', { deps: ['b'] }), spec('d', { deps: ['a', 'c'] }), spec('free'),
    ]);
    start(queue, 'a', 'L');
    const outcome = queue.fail('a', 'L', failure(T0, false));
    expect(outcome).toEqual({ status: 'dead', retryAt: null, blocked: ['b', 'd', 'c'] });
    for (const id of ['b', 'c', 'd']) {
      expect(queue.get(id)?.error).toMatchObject({ code: 'DEP_DEAD', message: 'dependency "a" is dead' });
    }
    expect(status(queue, 'free')).toBe('ready');
    expect(queue.counts()).toMatchObject({ dead: 1, blocked: 3, ready: 1 });
    expectCountsConsistent(queue);
  });
});

describe('TaskQueue: leases and release', () => {
  it('release returns the task to ready without using an attempt', () => {
    const queue = new TaskQueue({ maxAttempts: 1 });
    queue.submit([spec('a')]);
    expect(start(queue, 'a', 'L1')).toBe(1);
    expect(queue.release('a', 'L1', T0, 'drain deadline reached')).toBe(true);
    const record = queue.get('a');
    expect(record).toMatchObject({ status: 'ready', attempts: [], releases: 1, lease: null, worker: null, startedAt: null });
    expect(start(queue, 'a', 'L2')).toBe(1);
    // the one real attempt still counts: with maxAttempts 1 a retryable failure is final
    expect(queue.fail('a', 'L2', failure(T0))?.status).toBe('dead');
  });

  it('ignores a stale lease everywhere, changing nothing', () => {
    const queue = new TaskQueue({ maxAttempts: 2 });
    queue.submit([spec('a')]);
    start(queue, 'a', 'old');
    queue.release('a', 'old', T0, 'worker unavailable');
    start(queue, 'a', 'new');
    const before = JSON.stringify(queue.get('a'));
    expect(queue.markRunning('a', 'old', T0)).toBe(false);
    expect(queue.complete('a', 'old', { exitCode: 0, result: null, commit: null, now: T0 })).toBe(false);
    expect(queue.fail('a', 'old', failure(T0))).toBeNull();
    expect(queue.release('a', 'old', T0, 'worker unavailable')).toBe(false);
    expect(queue.complete('nope', 'old', { exitCode: 0, result: null, commit: null, now: T0 })).toBe(false);
    expect(JSON.stringify(queue.get('a'))).toBe(before);
    expect(queue.complete('a', 'new', { exitCode: 0, result: { ok: true }, commit: 'c0ffee', now: T0 })).toBe(true);
    // a late duplicate with the right lease is stale too once the task is done
    expect(queue.complete('a', 'new', { exitCode: 0, result: null, commit: null, now: T0 })).toBe(false);
    expect(queue.get('a')).toMatchObject({ status: 'complete', result: { ok: true }, commit: 'c0ffee', lease: null });
  });

  it('records attempts, start and finish times', () => {
    const queue = new TaskQueue();
    queue.submit([spec('a')]);
    queue.assign('a', 'w7', 'L', T0);
    expect(queue.markRunning('a', 'L', T0 + 10)).toBe(true);
    expect(queue.markRunning('a', 'L', T0 + 20)).toBe(false);
    queue.complete('a', 'L', { exitCode: 0, result: null, commit: null, now: T0 + 30 });
    const record = queue.get('a') as TaskRecord;
    expect(record).toMatchObject({
      worker: 'w7', branch: 'coord/a', exitCode: 0,
      startedAt: new Date(T0 + 10).toISOString(), finishedAt: new Date(T0 + 30).toISOString(),
    });
    expect(record.attempts).toEqual([{
      attempt: 1, worker: 'w7', lease: 'L', assignedAt: new Date(T0).toISOString(),
      startedAt: new Date(T0 + 10).toISOString(), finishedAt: new Date(T0 + 30).toISOString(),
      exitCode: 0, code: null, message: null,
    }]);
  });

  it('assign refuses a task that is not ready', () => {
    const queue = new TaskQueue();
    queue.submit([spec('a'), spec('b', { deps: ['a'] })]);
    expect(queue.assign('b', 'w1', 'L', T0)).toBeNull();
    expect(queue.assign('a', 'w1', 'L', T0)).toBe(1);
    expect(queue.assign('a', 'w2', 'L2', T0)).toBeNull();
    expect(codeOf(() => queue.assign('zz', 'w1', 'L', T0))).toBe('TASK_NOT_FOUND');
  });
});

describe('TaskQueue: block and cancel', () => {
  it('blocks an assigned task (dependency conflict), revoking its lease', () => {
    const queue = new TaskQueue();
    queue.submit([spec('a'), spec('b', { deps: ['a'] })]);
    queue.assign('a', 'w1', 'L', T0);
    const conflict = { code: 'DEP_CONFLICT', message: 'deps conflict in x.ts', details: { files: ['x.ts'] } };
    expect(queue.block('a', conflict, T0)).toEqual(['a', 'b']);
    expect(queue.get('a')).toMatchObject({ status: 'blocked', error: conflict, lease: null });
    expect(queue.get('b')?.error).toMatchObject({ code: 'DEP_DEAD', message: 'dependency "a" is blocked' });
    expect(queue.complete('a', 'L', { exitCode: 0, result: null, commit: null, now: T0 })).toBe(false);
    expect(queue.block('a', conflict)).toEqual([]);
    expect(queue.inFlight()).toEqual([]);
  });

  it('cancels a task and blocks its dependents', () => {
    const queue = new TaskQueue();
    queue.submit([spec('a'), spec('b', { deps: ['a'] }), spec('c')]);
    start(queue, 'c', 'L');
    expect(queue.cancel('a', T0)).toEqual(['a', 'b']);
    expect(queue.get('b')?.error?.message).toBe('dependency "a" was cancelled');
    expect(queue.cancel('c')).toEqual(['c']);
    expect(queue.get('c')?.attempts[0]?.code).toBe('TASK_CANCELLED');
    expect(queue.cancel('c')).toEqual([]);
    expect(codeOf(() => queue.cancel('zz'))).toBe('TASK_NOT_FOUND');
    expect(queue.isSettled()).toBe(true);
    expectCountsConsistent(queue);
  });
});

describe('TaskQueue: submission', () => {
  it('treats re-submitting an identical spec as a no-op, whatever the key order', () => {
    const queue = new TaskQueue();
    expect(queue.submit([spec('a', { env: { X: '1', Y: '2' } })])).toEqual(['a']);
    const again = TaskSpecSchema.parse({ env: { Y: '2', X: '1' }, run: ['true'], id: 'a' });
    expect(queue.submit([again, spec('b')])).toEqual(['b']);
    expect(queue.size).toBe(2);
  });

  it('rejects a different spec under a known id, adding nothing from the batch', () => {
    const queue = new TaskQueue();
    queue.submit([spec('a')]);
    expect(codeOf(() => queue.submit([spec('new'), spec('a', { priority: 1 })]))).toBe('TASK_EXISTS');
    expect(queue.size).toBe(1);
    expect(queue.get('new')).toBeUndefined();
  });

  it('rejects graph errors whole, and accepts deps on known tasks', () => {
    const queue = new TaskQueue();
    queue.submit([spec('a')]);
    expect(codeOf(() => queue.submit([spec('ok'), spec('b', { deps: ['x'] })]))).toBe('TASK_UNKNOWN_DEP');
    expect(codeOf(() => queue.submit([spec('p', { deps: ['q'] }), spec('q', { deps: ['p'] })]))).toBe('TASK_CYCLE');
    expect(codeOf(() => queue.submit([spec('d'), spec('d')]))).toBe('TASK_DUPLICATE_ID');
    expect(queue.size).toBe(1);
    expect(queue.submit([spec('b', { deps: ['a'] })])).toEqual(['b']);
    expect(queue.takeChanged()).toEqual(['a', 'b']);
    expect(queue.takeChanged()).toEqual([]);
  });
});

describe('TaskQueue: invariants', () => {
  it('keeps counts, in-flight set and ready set consistent under random operations', () => {
    let seed = 12345;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const queue = new TaskQueue({ maxAttempts: 3, random });
    const n = 150;
    queue.submit(Array.from({ length: n }, (_, i) => {
      const deps = i > 0 && random() < 0.7 ? [`t${Math.floor(random() * i)}`] : [];
      return spec(`t${i}`, { deps, priority: Math.floor(random() * 3) });
    }));
    const leases = new Map<string, string>();
    let now = T0;
    for (let step = 0; step < 3_000 && !queue.isSettled(); step++) {
      now += 50;
      const roll = random();
      const inFlight = queue.inFlight();
      if (inFlight.length > 0 && roll < 0.6) {
        const id = inFlight[Math.floor(random() * inFlight.length)] as string;
        const lease = leases.get(id) as string;
        const op = random();
        if (op < 0.6) queue.complete(id, lease, { exitCode: 0, result: null, commit: null, now });
        else if (op < 0.85) queue.fail(id, lease, failure(now, random() < 0.8));
        else if (op < 0.95) queue.release(id, lease, now, 'drain deadline reached');
        else queue.cancel(id, now);
      } else {
        const task = queue.peekReady(now);
        if (task === undefined) {
          now += queue.nextDelayMs(now) ?? 0;
          continue;
        }
        const lease = `L${step}`;
        leases.set(task.spec.id, lease);
        queue.assign(task.spec.id, 'w', lease, now);
        if (random() < 0.7) queue.markRunning(task.spec.id, lease, now);
      }
      expectCountsConsistent(queue);
      const ready = queue.all().filter((r) => r.status === 'ready').map((r) => r.spec.id).sort();
      expect(readyIds(queue, now - 1_000_000).sort()).toEqual(ready);
    }
    expect(queue.isSettled()).toBe(true);
    for (const record of queue.all()) {
      if (record.status === 'complete') {
        for (const dep of record.spec.deps) expect(queue.get(dep)?.status).toBe('complete');
      }
    }
  });
});
