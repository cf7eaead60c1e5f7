import { describe, expect, it } from 'vitest';
import { dyingOnCrashRelease, planRelease, planReleaseNode } from '../../src/lifecycle/release.js';
import { NO_SUBGRAPH } from '../../src/lifecycle/rows.js';
import { planFail } from '../../src/lifecycle/fail.js';
import { T0, Tables, failure, iso, spec, start, submit } from './helpers.js';

/** Crash-releases every task node n1 holds, as a store does: the graph read only when one dies. */
function releaseNode(t: Tables, now: number, maxReleases = 3): string[] {
  const held = [...t.tasks.values()].filter((r) => r.lease !== null && r.node === 'n1').map((r) => t.rows(r.id));
  const graph = dyingOnCrashRelease(held, maxReleases).length === 0 ? NO_SUBGRAPH : t.graph();
  return t.apply(planReleaseNode({ held, maxReleases, now }, graph));
}

describe('planRelease', () => {
  it('returns an in-flight task to ready without using an attempt, keeping the start in the history', () => {
    const t = new Tables();
    submit(t, [spec('a', { maxAttempts: 1 })]);
    expect(start(t, 'a', 'L1', T0)).toBe(1);
    expect(t.apply(planRelease(t.rows('a'), T0 + 5, 'drain deadline reached'))).toBe(true);
    expect(t.task('a')).toMatchObject({
      status: 'ready', attemptCount: 0, releases: 1, crashReleases: 0, lease: null, worker: null, node: null, startedAt: null, readyAt: 0,
    });
    expect(t.rows('a').attempts).toEqual([]);
    expect(t.releases).toEqual([{
      taskId: 'a', seq: 1, attempt: 1, node: 'n1', worker: 'w1', lease: 'L1', assignedAt: iso(T0), startedAt: iso(T0),
      releasedAt: iso(T0 + 5), reason: 'drain deadline reached', crash: false, session: null, usage: null,
    }]);
    // The next run reuses the number: the released start did not count.
    expect(start(t, 'a', 'L2', T0 + 6)).toBe(1);
  });

  it('keeps the first counted run\'s start when a later attempt is taken back', () => {
    const t = new Tables();
    submit(t, [spec('a')]);
    start(t, 'a', 'L1', T0);
    t.apply(planFail(t.rows('a'), NO_SUBGRAPH, failure(T0 + 5), { status: 'ready', readyAt: T0 + 5 }));
    start(t, 'a', 'L2', T0 + 10);
    t.apply(planRelease(t.rows('a'), T0 + 20, 'stop requested'));
    expect(t.task('a')).toMatchObject({ attemptCount: 1, startedAt: iso(T0) });
  });
});

describe('planReleaseNode', () => {
  it('dead-letters a task after maxReleases crash-releases (TASK_KILLS_SUPERVISOR), blocking its dependents; orderly releases do not count', () => {
    const t = new Tables();
    submit(t, [spec('k'), spec('k2', { deps: ['k'] }), spec('k3', { deps: ['k2'] })]);
    let now = T0;
    for (const reason of ['drain deadline reached', 'stop requested']) {
      start(t, 'k', `orderly-${reason}`, (now += 10));
      t.apply(planRelease(t.rows('k'), (now += 2), reason));
    }
    for (let crash = 1; crash <= 2; crash += 1) {
      start(t, 'k', `crash-${crash}`, (now += 10));
      expect(releaseNode(t, (now += 2))).toEqual(['k']);
      expect(t.task('k')).toMatchObject({ status: 'ready', crashReleases: crash });
    }
    start(t, 'k', 'crash-3', (now += 10));
    const from = t.events.length;
    expect(releaseNode(t, (now += 2))).toEqual(['k']);
    expect(t.task('k')).toMatchObject({
      status: 'dead', releases: 5, crashReleases: 3, attemptCount: 0, lease: null, node: null, finishedAt: iso(now),
      error: { code: 'TASK_KILLS_SUPERVISOR', details: { crashReleases: 3, maxReleases: 3 } },
    });
    for (const id of ['k2', 'k3']) expect(t.task(id)).toMatchObject({ status: 'blocked', error: { message: 'dependency "k" is dead' } });
    expect(t.eventLines(from)).toEqual(['task.released:k', 'task.failed:k', 'task.blocked:k2', 'task.blocked:k3']);
    expect(t.releases.map((r) => [r.seq, r.reason, r.crash])).toEqual([
      [1, 'drain deadline reached', false], [2, 'stop requested', false],
      [3, 'supervisor restarted', true], [4, 'supervisor restarted', true], [5, 'supervisor restarted', true],
    ]);
  });

  it('names the tasks one more crash-release kills', () => {
    const t = new Tables();
    submit(t, [spec('fresh'), spec('worn')]);
    start(t, 'worn', 'L1');
    releaseNode(t, T0 + 1);
    start(t, 'fresh', 'L2');
    start(t, 'worn', 'L3');
    expect(dyingOnCrashRelease([t.rows('fresh'), t.rows('worn')], 2)).toEqual(['worn']);
  });
});
