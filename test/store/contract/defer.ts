/**
 * Agent runs and rate limits: each run keeps the agent session and usage it reported, on its
 * attempt or its released start; a rate-limited start is deferred — ready again, not handed
 * out (claim, peek, due time) before the limit resets, no attempt burnt — and the waits are
 * bounded by `maxRateLimitWaits`, after which the task is dead with `RATE_LIMITED` and its
 * dependents blocked; redrive resets the count. Scenarios that change state are also played on
 * the in-memory reference and must leave the same records and events; a durable backend must
 * give the same records to a second instance reading what the first wrote.
 */
import { describe, expect, it } from 'vitest';
import { openStore } from '../../../src/store/open-store.js';
import type { TaskStore } from '../../../src/store/task-store.js';
import {
  T0, completion, deferral, failure, mustClaim, normalize, sameAsReference, session, spec, statusOf, usage, withStore,
  type ContractOptions, type MakeStore,
} from './helpers.js';

const iso = (ms: number): string => new Date(ms).toISOString();

/** Claims `id` on node n1 (worker w1) at `now` and starts it; returns the lease. */
async function start(store: TaskStore, id: string, now: number): Promise<string> {
  const claim = await mustClaim(store, now, { taskId: id, nodeId: 'n1', workerId: 'w1' });
  expect(await store.markRunning(id, claim.lease, now)).toBe(true);
  return claim.lease;
}

/** A claim of any task at `now`: the id it got, or null. */
async function claimAny(store: TaskStore, now: number): Promise<string | null> {
  return (await store.claim({ nodeId: 'n1', workerId: 'w1', capabilities: [], leaseMs: 60_000, now }))?.task.spec.id ?? null;
}

/** Registers the agent-run and rate-limit tests. */
export function deferContract(make: MakeStore, opts: ContractOptions): void {
  describe('agent runs and rate limits', () => {
    it('keeps the session and usage each run reported on its attempt, and none for a run closed without a report', () =>
      withStore(make, async (store, fixture) => {
        await store.submit([spec('ok'), spec('bad', { maxAttempts: 2 }), spec('plain'), spec('reaped', { maxAttempts: 2 })], T0);
        const ok = await start(store, 'ok', T0);
        expect(await store.complete('ok', ok, { ...completion(T0 + 1), session: session('s-ok'), usage: usage(10, 1.5) })).toBe(true);
        const bad = await start(store, 'bad', T0 + 2);
        const costless = usage(7, null);
        await store.fail('bad', bad, { ...failure(T0 + 3, { code: 'AGENT_FAILED' }), session: session('s-bad', 'codex'), usage: costless });
        const plain = await start(store, 'plain', T0 + 4);
        await store.complete('plain', plain, completion(T0 + 5));
        await mustClaim(store, T0 + 6, { taskId: 'reaped', leaseMs: 10 });
        await store.reapExpired(T0 + 100);

        const records = await store.list();
        const byId = new Map(records.map((r) => [r.spec.id, r]));
        expect(byId.get('ok')?.attempts).toEqual([expect.objectContaining({ session: { agent: 'claude', id: 's-ok' }, usage: usage(10, 1.5) })]);
        expect(byId.get('bad')?.attempts).toEqual([expect.objectContaining({ code: 'AGENT_FAILED', session: { agent: 'codex', id: 's-bad' }, usage: costless })]);
        expect(byId.get('plain')?.attempts).toEqual([expect.objectContaining({ session: null, usage: null })]);
        expect(byId.get('reaped')?.attempts).toEqual([expect.objectContaining({ code: 'LEASE_EXPIRED', session: null, usage: null })]);
        if (opts.durable) {
          // What another instance reads back is what was written, session and usage included.
          const other = await openStore(fixture.url);
          try {
            expect(await other.list()).toEqual(records);
          } finally {
            await other.close();
          }
        }
      }));

    it('defers a rate-limited start without burning an attempt: claims, peeks and the due time wait until the limit resets', () =>
      sameAsReference(make, async (store) => {
        await store.submit([spec('agent', { priority: 5, maxAttempts: 1 }), spec('other'), spec('after', { deps: ['agent'] })], T0);
        const lease = await start(store, 'agent', T0);
        const until = T0 + 60_000;
        expect(await store.defer('agent', lease, deferral(T0 + 10, until))).toEqual({ status: 'ready', retryAt: until, blocked: [] });
        const deferred = await store.get('agent');
        expect(deferred).toMatchObject({
          status: 'ready', readyAt: until, attempts: [], releases: 1, crashReleases: 0, rateLimitWaits: 1, startedAt: null,
          lease: null, worker: null, node: null, error: { code: 'RATE_LIMITED', message: '429: usage limit reached' },
        });
        expect(deferred?.released).toEqual([{
          attempt: 1, node: 'n1', worker: 'w1', lease, assignedAt: iso(T0), startedAt: iso(T0), releasedAt: iso(T0 + 10),
          reason: 'rate limited: claude', crash: false, session: session(), usage: usage(),
        }]);
        expect(await store.counts()).toMatchObject({ ready: 2 });
        expect(await store.isSettled()).toBe(false);
        // Ready, but not due: the lower-priority task goes first, and nothing hands the deferred one out early.
        expect((await store.peekReady(T0 + 20, 10)).map((r) => r.spec.id)).toEqual(['other']);
        expect(await store.nextDueMs(T0 + 20)).toBe(until - (T0 + 20));
        expect(await claimAny(store, T0 + 20)).toBe('other');
        expect(await store.claim({ nodeId: 'n1', workerId: 'w2', capabilities: [], leaseMs: 1000, now: until - 1, taskId: 'agent' })).toBeNull();
        expect(await claimAny(store, until - 1)).toBeNull();
        expect((await store.peekReady(until, 10)).map((r) => r.spec.id)).toEqual(['agent']);
        // Due: the same attempt number (the deferred start did not count), and a success completes it.
        const again = await mustClaim(store, until, { workerId: 'w2' });
        expect([again.task.spec.id, again.attempt]).toEqual(['agent', 1]);
        expect(await store.complete('agent', again.lease, { ...completion(until + 1), session: session('s-2'), usage: usage(99) })).toBe(true);
        expect(await store.get('agent')).toMatchObject({ status: 'complete', rateLimitWaits: 1, error: null, releases: 1 });
        expect((await store.get('agent'))?.attempts.map((a) => [a.attempt, a.worker, a.session?.id, a.usage?.inputTokens])).toEqual([[1, 'w2', 's-2', 99]]);
        expect(await statusOf(store, 'after')).toBe('ready');
        const lines = (await store.events(0, 100)).filter((e) => e.taskId === 'agent').map((e) => e.type);
        expect(lines).toEqual(['task.submitted', 'task.claimed', 'task.started', 'task.released', 'task.deferred', 'task.claimed', 'task.completed']);
        const line = (await store.events(0, 100)).find((e) => e.type === 'task.deferred');
        expect(line).toMatchObject({
          taskId: 'agent', nodeId: 'n1', at: T0 + 10,
          data: { attempt: 1, until, reason: 'rate limited: claude', code: 'RATE_LIMITED', message: '429: usage limit reached', rateLimitWaits: 1 },
        });
      }));

    it('dead-letters a task whose rate-limit waits exceed maxRateLimitWaits (RATE_LIMITED), blocking its dependents; redrive resets the count', () =>
      sameAsReference(make, async (store) => {
        await store.submit([spec('k'), spec('k2', { deps: ['k'] }), spec('k3', { deps: ['k2'] }), spec('free')], T0);
        let now = T0;
        for (let wait = 1; wait <= 2; wait += 1) {
          const lease = await start(store, 'k', (now += 100));
          expect(await store.defer('k', lease, deferral(now + 1, now + 50))).toEqual({ status: 'ready', retryAt: now + 50, blocked: [] });
          expect(await store.get('k')).toMatchObject({ status: 'ready', rateLimitWaits: wait, attempts: [] });
        }
        const lease = await start(store, 'k', (now += 100));
        // A stale report changes nothing: the lease of an earlier start, or of no start at all.
        const before = normalize(await store.list());
        const stale = (await store.get('k'))?.released[0]?.lease ?? 'none';
        expect(await store.defer('k', stale, deferral(now, now + 50))).toBeNull();
        expect(await store.defer('free', lease, deferral(now, now + 50))).toBeNull();
        expect(normalize(await store.list())).toEqual(before);

        expect(await store.defer('k', lease, deferral(now + 1, now + 50))).toEqual({ status: 'dead', retryAt: null, blocked: ['k2', 'k3'] });
        const dead = await store.get('k');
        expect(dead).toMatchObject({
          status: 'dead', rateLimitWaits: 3, attempts: [], releases: 3, lease: null, finishedAt: iso(now + 1),
          error: { code: 'RATE_LIMITED', details: { rateLimitWaits: 3, maxRateLimitWaits: 2 } },
        });
        expect(dead?.error?.message).toContain('429: usage limit reached');
        expect(dead?.released.map((r) => [r.attempt, r.reason, r.session?.id])).toEqual([
          [1, 'rate limited: claude', 'sess-1'], [1, 'rate limited: claude', 'sess-1'], [1, 'rate limited: claude', 'sess-1'],
        ]);
        for (const id of ['k2', 'k3']) {
          expect(await store.get(id)).toMatchObject({ status: 'blocked', error: { code: 'DEP_DEAD', message: 'dependency "k" is dead' } });
        }
        const tail = (await store.events(0, 100)).slice(-4).map((e) => `${e.type}:${e.taskId}`);
        expect(tail).toEqual(['task.released:k', 'task.failed:k', 'task.blocked:k2', 'task.blocked:k3']);
        expect((await store.events(0, 100)).at(-3)?.data).toMatchObject({ attempt: 1, code: 'RATE_LIMITED', status: 'dead', retryAt: null });

        expect(await store.redrive('k', (now += 10))).toEqual(['k', 'k2', 'k3']);
        expect(await store.get('k')).toMatchObject({ status: 'ready', rateLimitWaits: 0, readyAt: 0, releases: 3, error: null });
        // A live reconfiguration: from now on no wait is allowed at all.
        store.setDefaults({ maxRateLimitWaits: 0 });
        const last = await start(store, 'k', (now += 10));
        expect((await store.defer('k', last, deferral(now + 1, now + 50)))?.status).toBe('dead');
        expect(await store.get('k')).toMatchObject({ rateLimitWaits: 1, error: { details: { rateLimitWaits: 1, maxRateLimitWaits: 0 } } });
      }, { maxRateLimitWaits: 2 }));
  });
}
