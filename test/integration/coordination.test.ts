/**
 * Coordination end to end, with real forked workers, PTYs and a real repository: the shared
 * rate limiter (starts per window across every worker; a provider's 429 holds every start on
 * its key until the reset), budgets as limits (a global cap holds new starts, durably across a
 * restart, until it is raised; a per-task cap stops a running task with SIGINT), declared
 * files (overlapping tasks never run side by side, others do), and locality assignment (a
 * chain stays on one worker; idle workers steal a fan-out).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createSupervisor, type Supervisor, type SupervisorOptions } from '../../src/index.js';
import { FAKE_AGENT } from '../helpers/cli.js';
import { makeRepo, type TempRepo } from '../helpers/git-repo.js';
import { nextEvent } from '../helpers/next-event.js';

let repo: TempRepo | undefined;
let supervisor: Supervisor | undefined;
afterEach(async () => {
  if (supervisor && !['stopped', 'failed'].includes(supervisor.status().state)) await supervisor.stop();
  supervisor = undefined;
  repo?.cleanup();
  repo = undefined;
});

async function start(options: Partial<SupervisorOptions>): Promise<Supervisor> {
  repo ??= makeRepo();
  supervisor = createSupervisor({ repo: repo.repo, stateDir: repo.stateDir, worktreeRoot: repo.worktreeRoot, heartbeatMs: 200, workers: 2, ...options });
  await supervisor.start();
  return supervisor;
}

/** A fake-agent profile speaking Claude's stream-json, on the `anthropic` key. */
const fakeProfile = (flags: string[], extra: Record<string, unknown> = {}) => ({
  command: process.execPath, args: [FAKE_AGENT, '--stream-json', ...flags, '-p', '{prompt}'], parser: 'claude-stream-json' as const, provider: 'anthropic', ...extra,
});


const taskOf = async (s: Supervisor, id: string) => (await s.summary({ ids: [id] })).tasks[0];

describe('the shared rate limiter', () => {
  it('lets no more than requestsPerMinute starts through in any window, across every worker', async () => {
    const windowMs = 1_500;
    const s = await start({ workers: 4, rateLimits: { api: { requestsPerMinute: 3, windowMs } } });
    const assigned: number[] = [];
    const held: string[] = [];
    s.events.on('coord:assigned', () => assigned.push(Date.now()));
    s.events.on('coord:held', (e) => { if (e.code === 'RATE_LIMITED') held.push(e.taskId); });
    await s.submit(Array.from({ length: 12 }, (_, i) => ({ id: `t${i}`, run: ['true'], rateKey: 'api' })));
    await s.settled();
    const summary = await s.summary();
    expect(summary.tasks.every((t) => t.status === 'complete' && t.attempts === 1)).toBe(true);
    expect(assigned).toHaveLength(12);
    // The clock the limiter reads and this one differ by the few ms between a grant and its event.
    for (const at of assigned) expect(assigned.filter((t) => t >= at && t < at + windowMs - 50).length).toBeLessThanOrEqual(3);
    expect(held.length).toBeGreaterThan(0);
    expect(summary.rateLimits).toEqual([expect.objectContaining({ key: 'api', granted: 12, requestsPerMinute: 3 })]);
    await s.drain();
  });

  it("puts a key in cooldown for every worker when an agent is rate limited, and halves the key's concurrency", async () => {
    const s = await start({
      workers: 2, rateLimitDefaultWaitMs: 2_000, maxRateLimitWaits: 0,
      rateLimits: { anthropic: { maxConcurrent: 4 } },
      agents: { limited: fakeProfile(['--api-error', '429']), fine: fakeProfile(['--sleep', '100']) },
    });
    const started = new Map<string, number>();
    s.events.on('coord:started', (e) => started.set(e.taskId, Date.now()));
    const signalled = nextEvent<{ key: string | null; signal: boolean; resetAt: string }>(s, 'coord:rate-limited', (e) => e.signal);
    await s.submit([{ id: 'first', agent: 'limited', prompt: 'hit the limit', priority: 10 }]);
    const signal = await signalled;
    const signalAt = Date.now();
    expect(signal.key).toBe('anthropic');
    await s.submit(['a', 'b', 'c'].map((id) => ({ id, agent: 'fine', prompt: `task ${id}` })));
    await s.submit([{ id: 'cmd', run: ['true'] }]); // no rate key: not held
    await s.settled();
    const reset = Date.parse(signal.resetAt);
    for (const id of ['a', 'b', 'c']) expect(started.get(id) ?? 0).toBeGreaterThanOrEqual(reset - 20);
    expect(started.get('cmd') ?? Infinity).toBeLessThan(reset);
    expect(signalAt).toBeLessThan(reset);
    const summary = await s.summary();
    expect(summary.rateLimits[0]).toMatchObject({ key: 'anthropic', signals: 1, concurrency: 2 });
    expect((await taskOf(s, 'first'))?.error?.code).toBe('RATE_LIMITED');
    await s.drain();
  });
});

describe('budgets', () => {
  it('holds new starts once the global cap is crossed, keeps the spend across a restart, and releases the held tasks when the cap is raised', async () => {
    const options = { workers: 1, budgets: { globalUsd: 0.01 }, agents: { spend: fakeProfile(['--cost', '0.006']) } };
    const s = await start(options);
    const warned = nextEvent<{ scope: string }>(s, 'coord:budget-warning', (e) => e.scope === 'global');
    const exceeded = nextEvent<{ scope: string }>(s, 'coord:budget-exceeded', (e) => e.scope === 'global');
    const heldC = nextEvent<{ code?: string }>(s, 'coord:held', (e: { taskId?: string; code?: string }) => e.code === 'BUDGET_EXCEEDED');
    await s.submit(['a', 'b', 'c', 'd'].map((id, i) => ({ id, agent: 'spend', prompt: id, priority: 10 - i })));
    await warned;
    await exceeded;
    await heldC;
    const held = await s.summary();
    expect(held.tasks.filter((t) => t.status === 'complete').map((t) => t.id)).toEqual(['a', 'b']);
    expect(held.tasks.filter((t) => t.status === 'ready').map((t) => t.held?.code)).toEqual(['BUDGET_EXCEEDED', 'BUDGET_EXCEEDED']);
    expect(held.budgets.find((b) => b.scope === 'global')).toMatchObject({ capUsd: 0.01, exceeded: true });
    expect(Object.keys(s.status().held).sort()).toEqual(['c', 'd']);
    // A held task cancelled is held no more.
    await s.cancel('d');
    expect(Object.keys(s.status().held)).toEqual(['c']);
    await s.stop();

    // A restart does not reset the spend: the cap still holds.
    const again = await start(options);
    const stillHeld = nextEvent<{ taskId: string; code?: string }>(again, 'coord:held', (e) => e.code === 'BUDGET_EXCEEDED');
    await stillHeld;
    expect((await again.summary()).budgets.find((b) => b.scope === 'global')?.spentUsd).toBeCloseTo(0.012, 6);
    await again.reconfigure({ budgets: { globalUsd: 1, warnAt: 0.8 } });
    await again.settled();
    expect((await again.summary()).tasks.map((t) => t.status)).toEqual(['complete', 'complete', 'complete', 'cancelled']);
    await again.drain();
  });

  it('stops a running task that crosses its own cap: SIGINT first, dead with BUDGET_EXCEEDED', async () => {
    const prices = { 'claude-opus-5-5': { inputPerMTok: 1_000, outputPerMTok: 1_000 } };
    const s = await start({ workers: 1, budgets: { perTaskUsd: 1 }, agents: { pricey: fakeProfile(['--print', 'working on it', '--sleep', '60000'], { prices }) } });
    const exceeded = nextEvent<{ scope: string; taskId: string }>(s, 'coord:budget-exceeded');
    await s.submit([{ id: 'costly', agent: 'pricey', prompt: 'spend' }]);
    expect(await exceeded).toMatchObject({ scope: 'task:costly', taskId: 'costly' });
    await s.settled();
    const task = await taskOf(s, 'costly');
    expect(task).toMatchObject({ status: 'dead', error: { code: 'BUDGET_EXCEEDED' } });
    // The task is dead at once; its worker is free once the agent's processes are gone.
    await vi.waitFor(() => expect(s.status().workers[0]).toMatchObject({ state: 'idle', task: null }), { timeout: 20_000, interval: 50 });
    const log = readFileSync(task?.logFile ?? '', 'utf8');
    expect(log).toContain('sending SIGINT');
    expect(log).not.toContain('sleeping 60000 ms\r\n[fake-agent] done');
    await s.drain();
  });
});

describe('declared files', () => {
  it('never runs two tasks whose globs overlap side by side, and runs the others beside them', async () => {
    repo = makeRepo();
    const flag = path.join(repo.dir, 'docs-done');
    const s = await start({ workers: 3 });
    const running = new Set<string>();
    const together: string[][] = [];
    s.events.on('coord:started', (e) => { running.add(e.taskId); together.push([...running].sort()); });
    for (const type of ['coord:complete', 'coord:failed'] as const) s.events.on(type, (e) => running.delete(e.taskId));
    const busy = nextEvent<{ taskId: string; scope: string; code?: string }>(s, 'coord:held', (e) => e.code === 'FILES_BUSY');
    await s.submit([
      // `src` waits for `docs` to finish: were `docs` held back with it, this would never end.
      { id: 'src', run: ['sh', '-c', `while [ ! -f '${flag}' ]; do sleep 0.05; done; echo a > a.txt`], files: ['src/**'], priority: 10 },
      { id: 'api', run: ['sh', '-c', 'echo b > b.txt'], files: ['src/api/*.ts'], priority: 5 },
      { id: 'docs', run: ['sh', '-c', `sleep 0.3; touch '${flag}'`], files: ['docs/**'], priority: 1 },
    ]);
    expect(await busy).toMatchObject({ taskId: 'api', scope: 'files:src' });
    await s.settled();
    expect((await s.summary()).tasks.every((t) => t.status === 'complete')).toBe(true);
    expect(together.some((ids) => ids.includes('src') && ids.includes('api'))).toBe(false);
    expect(together.some((ids) => ids.includes('src') && ids.includes('docs'))).toBe(true);
    expect(existsSync(flag)).toBe(true);
    await s.drain();
  });
});

describe('locality assignment', () => {
  it('keeps a chain on one worker, and idle workers steal the tasks a busy worker would have run', async () => {
    const s = await start({ workers: 3, assignment: 'locality' });
    const ranOn = new Map<string, string>();
    const stolen: string[] = [];
    s.events.on('coord:assigned', (e) => ranOn.set(e.taskId, e.workerId));
    s.events.on('coord:stolen', (e) => stolen.push(e.taskId));
    const step = (id: string, deps: string[]) => ({ id, run: ['sh', '-c', `echo ${id} >> chain.txt`], deps });
    await s.submit([step('c1', []), step('c2', ['c1']), step('c3', ['c2']), step('c4', ['c3'])]);
    await s.settled();
    expect(new Set(['c1', 'c2', 'c3', 'c4'].map((id) => ranOn.get(id))).size).toBe(1);

    const fan = ['f1', 'f2', 'f3', 'f4'].map((id) => ({ id, run: ['sh', '-c', 'sleep 0.3'], deps: ['root'] }));
    await s.submit([{ id: 'root', run: ['true'] }, ...fan]);
    await s.settled();
    const fanWorkers = new Set(fan.map((t) => ranOn.get(t.id)));
    expect(fanWorkers.size).toBe(3);
    expect(stolen.length).toBeGreaterThanOrEqual(2);
    await s.drain();
  });
});
