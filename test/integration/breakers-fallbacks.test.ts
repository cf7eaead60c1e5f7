/**
 * Circuit breakers and fallback chains with real workers: an open breaker holds back a
 * failing command's tasks; stalled attempts walk live → respawn → exhausted.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSupervisor, type Supervisor, type SupervisorOptions } from '../../src/index.js';
import { makeRepo, type TempRepo } from '../helpers/git-repo.js';

let repo: TempRepo;
let supervisor: Supervisor | undefined;
afterEach(async () => {
  if (supervisor && !['stopped', 'failed'].includes(supervisor.status().state)) await supervisor.stop();
  supervisor = undefined;
  repo?.cleanup();
});

function create(extra: Partial<SupervisorOptions>): Supervisor {
  supervisor = createSupervisor({ repo: repo.repo, workers: 2, stateDir: repo.stateDir, worktreeRoot: repo.worktreeRoot, heartbeatMs: 200, ...extra });
  return supervisor;
}

const noBackoff = { initialMs: 0, maxMs: 0, factor: 1 };

describe('circuit breakers', () => {
  it('opens the breaker of a failing command and holds its remaining tasks back; other commands run', async () => {
    repo = makeRepo();
    const s = create({ workers: 1, breaker: { failureThreshold: 2, openMs: 600_000 } });
    const transitions: string[] = [];
    s.events.on('coord:breaker', (e) => transitions.push(`${e.scope}:${e.from}->${e.to}:${e.reason}`));
    const held: string[] = [];
    s.events.on('coord:held', (e) => held.push(`${e.taskId}:${e.scope}`));
    await s.start();
    await s.submit([
      ...[1, 2, 3, 4].map((i) => ({ id: `f${i}`, run: ['false'], maxAttempts: 1, priority: 10 - i })),
      { id: 'other', run: ['true'] },
    ]);
    await expect
      .poll(() => ({ complete: s.status().counts.complete, dead: s.status().counts.dead }), {
        timeout: 15_000, interval: 25, message: 'other complete and two of the failing tasks dead',
      })
      .toEqual({ complete: 1, dead: 2 });
    // The positive signal that f3 and f4 were considered with the breaker open, and held back.
    await expect.poll(() => held, { timeout: 15_000, interval: 25, message: 'f3 and f4 held by the open breaker' })
      .toEqual(expect.arrayContaining(['f3:command:false', 'f4:command:false']));
    const byId = Object.fromEntries((await s.summary()).tasks.map((t) => [t.id, t]));
    expect([byId.f1?.status, byId.f2?.status]).toEqual(['dead', 'dead']);
    expect([byId.f3?.status, byId.f4?.status]).toEqual(['ready', 'ready']);
    expect([byId.f3?.attempts, byId.f4?.attempts]).toEqual([0, 0]);
    expect(byId.other?.status).toBe('complete');
    expect(transitions).toEqual(['command:false:closed->open:failure-threshold']);
    // Said once per hold, however many passes saw them waiting.
    expect(held).toEqual(['f3:command:false', 'f4:command:false']);
    expect(s.status().breakers).toContainEqual({ scope: 'command:false', state: 'open' });
    // The breaker is a child of the coordinator, visible to an inspector.
    expect(Object.keys(s.actor.getSnapshot().children)).toContain('breaker:command:false');
  });
});

describe('fallback chains', () => {
  it('retries a timed-out task on the same worker, then on another with a summary file; succeeds', async () => {
    repo = makeRepo();
    const out = path.join(repo.dir, 'env.txt');
    const s = create({ fallback: { maxResumes: 0 } });
    await s.start();
    // Attempts 1 and 2 hang past the timeout; attempt 3 records what it was given.
    const script = `if [ "$COORD_ATTEMPT" -lt 3 ]; then sleep 30; fi; echo "$COORD_WORKER_ID|$COORD_SUMMARY_FILE" > ${out}; cat "$COORD_SUMMARY_FILE" >> ${out}`;
    await s.submit([{ id: 'flaky', run: ['sh', '-c', script], timeoutMs: 400, maxAttempts: 5, backoff: noBackoff }]);
    await s.settled();
    const task = (await s.summary()).tasks[0];
    expect(task?.status).toBe('complete');
    const workers = task?.history.map((a) => a.worker) ?? [];
    expect(task?.history.map((a) => a.code)).toEqual(['TASK_TIMEOUT', 'TASK_TIMEOUT', null]);
    expect(workers[1]).toBe(workers[0]); // live: the same worker
    expect(workers[2]).not.toBe(workers[1]); // respawn: elsewhere
    const [first = '', ...summary] = readFileSync(out, 'utf8').split('\n');
    const [worker, summaryFile] = first.split('|');
    expect(worker).toBe(workers[2]);
    expect(summaryFile).toMatch(/fallback-summary\.md$/);
    expect(summary.join('\n')).toContain('attempt 2 on');
    expect(summary.join('\n')).toContain('TASK_TIMEOUT');
  });

  it('dead-letters a task whose chain is exhausted, before maxAttempts runs out', async () => {
    repo = makeRepo();
    const s = create({ fallback: { maxResumes: 1 } });
    await s.start();
    await s.submit([{ id: 'stuck', run: ['sleep', '30'], timeoutMs: 300, maxAttempts: 10, backoff: noBackoff }]);
    await s.settled();
    const task = (await s.summary()).tasks[0];
    // original → live → resume(1) → respawn → exhausted: four attempts, not ten.
    expect(task?.status).toBe('dead');
    expect(task?.attempts).toBe(4);
    expect(task?.error?.code).toBe('TASK_TIMEOUT');
    expect(task?.error?.message).toContain('fallback chain exhausted');
  });
});
