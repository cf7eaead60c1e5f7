/** The store contract against the in-memory store, and its own indexes. */
import { describe, expect, it } from 'vitest';
import { TASK_STATUSES, type TaskStatus } from '../../src/lifecycle/task-record.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { TaskSpecSchema } from '../../src/tasks/spec.js';
import { describeStoreContract } from './contract.js';
import { T0 } from './contract/helpers.js';

describeStoreContract(
  'memory',
  async (options) => {
    const store = new MemoryStore(options);
    await store.open();
    return { store, url: 'memory:', cleanup: () => store.close() };
  },
  { shared: false, durable: false, processes: false, exclusiveReaper: false },
);

describe('memory store: its indexes under random operations', () => {
  it('keeps counts, the in-flight set, the ready order and the due time consistent with the records', async () => {
    let seed = 12345;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const store = new MemoryStore({ maxAttempts: 3, maxRateLimitWaits: 2, random });
    const n = 150;
    await store.submit(Array.from({ length: n }, (_, i) => {
      const deps = i > 0 && random() < 0.7 ? [`t${Math.floor(random() * i)}`] : [];
      return TaskSpecSchema.parse({ id: `t${i}`, run: ['true'], deps, priority: Math.floor(random() * 3) });
    }), T0);
    const leases = new Map<string, string>();
    let now = T0;
    for (let step = 0; step < 3_000 && !(await store.isSettled()); step++) {
      now += 50;
      const inFlight = await store.inFlight();
      if (inFlight.length > 0 && random() < 0.6) {
        const { taskId: id } = inFlight[Math.floor(random() * inFlight.length)] as (typeof inFlight)[number];
        const lease = leases.get(id) as string;
        const op = random();
        if (op < 0.6) await store.complete(id, lease, { exitCode: 0, result: null, commit: null, now });
        else if (op < 0.85) await store.fail(id, lease, { code: 'TASK_EXIT_NONZERO', message: 'exit 1', exitCode: 1, retryable: random() < 0.8, now });
        else if (op < 0.9) await store.release(id, lease, now, 'drain deadline reached');
        else if (op < 0.95) {
          const error = { code: 'RATE_LIMITED' as const, message: '429' };
          await store.defer(id, lease, { now, until: now + Math.floor(random() * 2_000), reason: 'rate limited', error });
        } else await store.cancel(id, now);
      } else {
        const claim = await store.claim({ nodeId: 'n1', workerId: 'w', capabilities: [], leaseMs: 1_000_000, now });
        if (claim === null) {
          now += (await store.nextDueMs(now)) ?? 0;
          continue;
        }
        leases.set(claim.task.spec.id, claim.lease);
        if (random() < 0.7) await store.markRunning(claim.task.spec.id, claim.lease, now);
      }
      // Peeked first (it promotes the retries due by now), then compared with what the records say.
      const peeked = (await store.peekReady(now, n)).map((r) => r.spec.id);
      const records = await store.list();
      const tally = Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as Record<TaskStatus, number>;
      for (const record of records) tally[record.status] += 1;
      expect(await store.counts()).toEqual(tally);
      const flying = records.filter((r) => r.status === 'assigned' || r.status === 'running').map((r) => r.spec.id);
      expect((await store.inFlight()).map((f) => f.taskId)).toEqual(flying);
      const due = records.filter((r) => r.status === 'ready' && r.readyAt <= now).sort((a, b) => b.spec.priority - a.spec.priority || a.seq - b.seq);
      expect(peeked).toEqual(due.map((r) => r.spec.id));
      const waiting = records.filter((r) => (r.status === 'failed' || r.status === 'ready') && r.readyAt > now).map((r) => r.readyAt);
      const expiries = records.flatMap((r) => (r.leaseExpiresAt === null ? [] : [r.leaseExpiresAt]));
      const next = [...waiting, ...expiries];
      expect(await store.nextDueMs(now)).toBe(next.length === 0 ? null : Math.max(0, Math.min(...next) - now));
    }
    expect(await store.isSettled()).toBe(true);
    expect((await store.events(0, 100_000)).filter((e) => e.type === 'task.deferred').length).toBeGreaterThan(0);
    const byId = new Map((await store.list()).map((r) => [r.spec.id, r]));
    for (const record of byId.values()) {
      if (record.status === 'complete') for (const dep of record.spec.deps) expect(byId.get(dep)?.status).toBe('complete');
    }
  });
});
