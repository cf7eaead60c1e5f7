/**
 * One supervisor per state, one writer per worktree. A second supervisor on a repository
 * whose state another live one uses is refused (`STATE_LOCKED`, naming the holder); on a
 * shared PostgreSQL queue, two supervisors never share a worktree (`WORKTREE_LOCKED`) nor a
 * node id (`STATE_LOCKED`), and every "complete" commit holds exactly its task's own work.
 * Real processes, real repositories, a real PostgreSQL server.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createSupervisor, isCoordError, type RunSummary, type Supervisor, type SupervisorOptions } from '../../src/index.js';
import { filesChangedSince, refCommit } from '../helpers/branch-files.js';
import { runCli, startCli, type CliRun } from '../helpers/cli.js';
import { makeRepo, type TempRepo } from '../helpers/git-repo.js';

const BASE_URL = process.env.COORD_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

let repo: TempRepo | undefined;
let schema: string | undefined;
const supervisors: Supervisor[] = [];
const runs: CliRun[] = [];

afterEach(async () => {
  for (const run of runs.splice(0)) if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
  for (const s of supervisors.splice(0)) if (!['stopped', 'failed'].includes(s.status().state)) await s.stop();
  repo?.cleanup();
  repo = undefined;
  if (schema !== undefined) {
    const client = new pg.Client({ connectionString: BASE_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
    schema = undefined;
  }
});

/** Tasks that each write one file of their own, slowly enough to overlap a second start. */
function ownFileTasks(count: number, prefix = 't'): Array<{ id: string; run: string[] }> {
  return Array.from({ length: count }, (_, i) => ({
    id: `${prefix}${i}`,
    run: ['sh', '-c', 'sleep 0.1; mkdir -p out; echo "$COORD_TASK_ID" > "out/$COORD_TASK_ID.txt"'],
  }));
}

/** Every complete task's commit is its branch's tip and holds exactly its own file. */
function expectOwnWorkOnly(root: string, base: string, summary: RunSummary): void {
  const wrong: string[] = [];
  for (const task of summary.tasks) {
    if (task.status !== 'complete') {
      wrong.push(`${task.id}: ${task.status} ${task.error?.code ?? ''}`);
      continue;
    }
    const tip = refCommit(root, `refs/heads/${task.branch}`);
    if (task.commit !== tip) wrong.push(`${task.id}: summary commit ${task.commit} but ${task.branch} is at ${tip}`);
    const files = filesChangedSince(root, base, task.commit ?? base);
    if (files.join(',') !== `out/${task.id}.txt`) wrong.push(`${task.id}: holds ${files.join(', ') || 'nothing'}`);
  }
  expect(wrong).toEqual([]);
}

describe('one supervisor per state directory', () => {
  it('refuses a second CLI run on the same repository with exit 2 and STATE_LOCKED naming the holder; the first run is unharmed', async () => {
    const r = (repo = makeRepo());
    const taskFile = path.join(r.dir, 'tasks.json');
    writeFileSync(taskFile, JSON.stringify({ tasks: ownFileTasks(40) }));
    const summaryFile = path.join(r.dir, 'first.json');
    const args = ['--workers', '4', '--repo', r.repo, '--worktree-root', r.worktreeRoot, '--tasks', taskFile, '--once', '--node-id', 'first-node'];
    const first = startCli([...args, '--summary', summaryFile]);
    runs.push(first);
    // The first run is under way once a task branch exists.
    await vi.waitFor(() => expect(r.git('for-each-ref', 'refs/heads/coord/')).not.toBe(''), { timeout: 30_000, interval: 50 });

    const second = await runCli([...args, '--summary', path.join(r.dir, 'second.json')]);
    expect(second.code).toBe(2);
    expect(second.stderr).toContain('STATE_LOCKED');
    expect(second.stderr).toContain(`pid ${first.child.pid}`);
    expect(second.stderr).toContain('first-node');

    expect((await first.exit).code).toBe(0);
    const summary = JSON.parse(readFileSync(summaryFile, 'utf8')) as RunSummary;
    expect(summary.tasks.every((t) => t.attempts === 1)).toBe(true);
    expectOwnWorkOnly(r.repo, r.git('rev-parse', 'HEAD'), summary);
  });

  it('refuses a second supervisor in the same process, and frees the state when the first stops', async () => {
    const r = (repo = makeRepo());
    const options: SupervisorOptions = { repo: r.repo, workers: 1, stateDir: r.stateDir, worktreeRoot: r.worktreeRoot, heartbeatMs: 200 };
    const first = createSupervisor(options);
    supervisors.push(first);
    await first.start();
    const second = createSupervisor(options);
    supervisors.push(second);
    const refused = await second.start().then(() => null, (error: unknown) => error);
    expect(isCoordError(refused) && refused.code).toBe('STATE_LOCKED');
    expect(isCoordError(refused) && refused.details.holderPid).toBe(process.pid);

    await first.drain();
    const third = createSupervisor(options);
    supervisors.push(third);
    await third.start();
    expect(third.status().state).toBe('running');
  });
});

describe('a shared PostgreSQL queue', () => {
  function pgOptions(r: TempRepo, name: string, extra: Partial<SupervisorOptions> = {}): SupervisorOptions {
    return {
      repo: r.repo, workers: 2, heartbeatMs: 200, stateDir: path.join(r.dir, `${name}-state`), worktreeRoot: path.join(r.dir, `${name}-worktrees`),
      store: `${BASE_URL}?schema=${schema}`, remote: false, leaseMs: 5_000, ...extra,
    };
  }
  const refusalOf = (s: Supervisor): Promise<unknown> => s.start().then(() => null, (error: unknown) => error);

  it('refuses a second supervisor on a worktree root a live one owns (WORKTREE_LOCKED) and on a live node id (STATE_LOCKED)', async () => {
    const r = (repo = makeRepo());
    schema = `coord_excl_${process.pid}_${Date.now().toString(36)}`;
    const first = createSupervisor(pgOptions(r, 'a', { nodeId: 'node-a' }));
    supervisors.push(first);
    await first.start();

    const sameRoot = createSupervisor(pgOptions(r, 'b', { nodeId: 'node-b', worktreeRoot: path.join(r.dir, 'a-worktrees') }));
    supervisors.push(sameRoot);
    const rootRefusal = await refusalOf(sameRoot);
    expect(isCoordError(rootRefusal) && rootRefusal.code).toBe('WORKTREE_LOCKED');
    expect(isCoordError(rootRefusal) && rootRefusal.message).toContain(`pid ${process.pid}`);

    const sameNode = createSupervisor(pgOptions(r, 'c', { nodeId: 'node-a' }));
    supervisors.push(sameNode);
    const nodeRefusal = await refusalOf(sameNode);
    expect(isCoordError(nodeRefusal) && nodeRefusal.code).toBe('STATE_LOCKED');
    expect(isCoordError(nodeRefusal) && nodeRefusal.details.holderPid).toBe(process.pid);
    // git's own lock names the owner too, so `git worktree list` tells a person who has it.
    expect(r.git('worktree', 'list', '--porcelain')).toContain(`locked coord supervisor pid ${process.pid} node node-a`);
  });

  it('two supervisors with their own worktrees drain one queue; no live claim is taken over and every commit holds exactly its own work', { timeout: 120_000 }, async () => {
    const r = (repo = makeRepo());
    schema = `coord_excl_${process.pid}_${Date.now().toString(36)}`;
    const a = createSupervisor(pgOptions(r, 'a', { nodeId: 'node-a' }));
    supervisors.push(a);
    await a.start();
    await a.submit(ownFileTasks(40));
    // Start the second while the first holds tasks in flight: it must not "recover" them.
    await vi.waitFor(() => expect((a.status().counts.running ?? 0) + (a.status().counts.assigned ?? 0)).toBeGreaterThan(0), { timeout: 30_000, interval: 20 });
    const b = createSupervisor(pgOptions(r, 'b', { nodeId: 'node-b' }));
    supervisors.push(b);
    await b.start();
    const released: string[] = [];
    for (const s of [a, b]) s.events.on('coord:released', ({ taskId }) => released.push(taskId));
    await Promise.all([a.settled(), b.settled()]);
    await Promise.all([a.drain(), b.drain()]);

    const summary = await a.summary();
    expect(released).toEqual([]);
    expect(summary.tasks.map((t) => `${t.id}:${t.attempts}`)).toEqual(ownFileTasks(40).map((t) => `${t.id}:1`));
    expect(new Set(summary.tasks.map((t) => t.node))).toEqual(new Set(['node-a', 'node-b']));
    expectOwnWorkOnly(r.repo, execFileSync('git', ['rev-parse', 'HEAD'], { cwd: r.repo, encoding: 'utf8' }).trim(), summary);
  });
});
