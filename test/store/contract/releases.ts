/**
 * Releases: a start taken back without a verdict stays in the history with its reason and
 * burns no attempt; crash-releases (recovery at start-up, `releaseNode`) are bounded by
 * `maxReleases`, after which the task is dead with `TASK_KILLS_SUPERVISOR` and its dependents
 * blocked; orderly releases (drain, stop, worker unavailable) do not count; redrive resets
 * the budget. Each scenario is also played on the in-memory reference and must leave the
 * same records and events.
 */
import { describe, expect, it } from 'vitest';
import type { TaskStore } from '../../../src/store/task-store.js';
import { taskHistory } from '../../../src/supervisor/history.js';
import { T0, completion, mustClaim, sameAsReference, spec, statusOf, type MakeStore } from './helpers.js';

const iso = (ms: number): string => new Date(ms).toISOString();

/** Claims `id` on node n1 and starts it at `now`. */
async function start(store: TaskStore, id: string, now: number): Promise<string> {
  const claim = await mustClaim(store, now, { taskId: id, nodeId: 'n1', workerId: 'w1' });
  expect(claim.attempt).toBe(1);
  expect(await store.markRunning(id, claim.lease, now + 1)).toBe(true);
  return claim.lease;
}

/** Two orderly releases of `k`, then crash-releases until it is dead; returns what `releaseNode` answered each time. */
async function releaseUntilDead(store: TaskStore): Promise<string[][]> {
  await store.submit([spec('k', { maxAttempts: 1 }), spec('k2', { deps: ['k'] }), spec('k3', { deps: ['k2'] }), spec('other')], T0);
  const answers: string[][] = [];
  let now = T0;
  for (const reason of ['drain deadline reached', 'stop requested']) {
    const lease = await start(store, 'k', (now += 10));
    expect(await store.release('k', lease, (now += 2), reason)).toBe(true);
  }
  await mustClaim(store, now, { taskId: 'other', nodeId: 'n2' });
  for (let crash = 1; crash <= 3; crash += 1) {
    await start(store, 'k', (now += 10));
    answers.push(await store.releaseNode('n1', (now += 2)));
  }
  return answers;
}

/** Registers the release tests. */
export function releasesContract(make: MakeStore): void {
  describe('releases', () => {
    it('keeps a released start in the history with its reason, burning no attempt', () =>
      sameAsReference(make, async (store) => {
        await store.submit([spec('a', { maxAttempts: 1 })], T0);
        const lease = await start(store, 'a', T0);
        expect(await store.release('a', lease, T0 + 5, 'drain deadline reached')).toBe(true);
        const released = await store.get('a');
        expect(released).toMatchObject({ status: 'ready', attempts: [], releases: 1, crashReleases: 0, startedAt: null });
        expect(released?.released).toEqual([{
          attempt: 1, node: 'n1', worker: 'w1', lease, assignedAt: iso(T0), startedAt: iso(T0 + 1),
          releasedAt: iso(T0 + 5), reason: 'drain deadline reached', crash: false, session: null, usage: null,
        }]);
        const again = await mustClaim(store, T0 + 6, { taskId: 'a', workerId: 'w2' });
        expect(again.attempt).toBe(1); // the same number: the released start did not count
        expect(await store.complete('a', again.lease, completion(T0 + 7))).toBe(true);
        const done = await store.get('a');
        expect(done).toMatchObject({ status: 'complete', releases: 1 });
        expect(done?.attempts).toHaveLength(1);
        // The summary's history: both starts, in order, the released one marked.
        expect(taskHistory(done ?? { attempts: [], released: [] }).map((h) => [h.attempt, h.worker, h.released, h.releaseReason])).toEqual([
          [1, 'w1', true, 'drain deadline reached'],
          [1, 'w2', false, null],
        ]);
        const event = (await store.events(0, 100)).find((e) => e.type === 'task.released');
        expect(event).toMatchObject({ taskId: 'a', nodeId: 'n1', at: T0 + 5, data: { attempt: 1, reason: 'drain deadline reached', crash: false } });
      }));

    it('dead-letters a task after maxReleases crash-releases (TASK_KILLS_SUPERVISOR), blocking its dependents; orderly releases do not count', () =>
      sameAsReference(make, async (store) => {
        const answers = await releaseUntilDead(store);
        expect(answers).toEqual([['k'], ['k'], ['k']]); // the default maxReleases: 3
        const k = await store.get('k');
        expect(k).toMatchObject({
          status: 'dead', attempts: [], releases: 5, crashReleases: 3, lease: null, node: null, worker: null,
          error: { code: 'TASK_KILLS_SUPERVISOR', details: { crashReleases: 3, maxReleases: 3 } },
        });
        expect(k?.error?.message).toContain('supervisor');
        expect(k?.finishedAt).not.toBeNull();
        expect(k?.released.map((r) => [r.attempt, r.reason, r.crash])).toEqual([
          [1, 'drain deadline reached', false],
          [1, 'stop requested', false],
          [1, 'supervisor restarted', true],
          [1, 'supervisor restarted', true],
          [1, 'supervisor restarted', true],
        ]);
        for (const id of ['k2', 'k3']) {
          expect(await store.get(id)).toMatchObject({ status: 'blocked', error: { code: 'DEP_DEAD', message: 'dependency "k" is dead' } });
        }
        expect(await statusOf(store, 'other')).toBe('assigned'); // another node's: untouched
        const tail = (await store.events(0, 100)).slice(-4).map((e) => `${e.type}:${e.taskId}`);
        expect(tail).toEqual(['task.released:k', 'task.failed:k', 'task.blocked:k2', 'task.blocked:k3']);
        const death = (await store.events(0, 100)).at(-3);
        expect(death?.data).toMatchObject({ attempt: 1, code: 'TASK_KILLS_SUPERVISOR', status: 'dead', retryAt: null });
      }));

    it('counts crash-releases against the configured maxReleases, and redrive resets the budget', () =>
      sameAsReference(make, async (store) => {
        await store.submit([spec('k'), spec('after', { deps: ['k'] })], T0);
        await start(store, 'k', T0);
        expect(await store.releaseNode('n1', T0 + 5)).toEqual(['k']);
        expect(await store.get('k')).toMatchObject({ status: 'ready', crashReleases: 1, attempts: [] });
        await start(store, 'k', T0 + 10);
        expect(await store.releaseNode('n1', T0 + 15)).toEqual(['k']);
        expect(await store.get('k')).toMatchObject({ status: 'dead', crashReleases: 2, error: { code: 'TASK_KILLS_SUPERVISOR' } });
        expect(await statusOf(store, 'after')).toBe('blocked');
        expect(await store.redrive('k', T0 + 20)).toEqual(['k', 'after']);
        expect(await store.get('k')).toMatchObject({ status: 'ready', crashReleases: 0, releases: 2, error: null });
        expect((await store.get('k'))?.released).toHaveLength(2); // the history stays
        await start(store, 'k', T0 + 30);
        expect(await store.releaseNode('n1', T0 + 35)).toEqual(['k']);
        expect(await store.get('k')).toMatchObject({ status: 'ready', crashReleases: 1 });
        const lease = await start(store, 'k', T0 + 40);
        expect(await store.complete('k', lease, completion(T0 + 45))).toBe(true);
        expect(await statusOf(store, 'after')).toBe('ready');
      }, { maxReleases: 2 }));
  });
}
