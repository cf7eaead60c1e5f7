/**
 * A task that kills its supervisor, restarted after each death the way a service manager
 * would (start, wait for the exit, start again with the same command). Each restart releases
 * the task without burning an attempt; without a bound it would run forever as attempt 1 and
 * wedge the queue. After `maxReleases` (default 3) crash-releases it is dead with
 * `TASK_KILLS_SUPERVISOR`, the other tasks complete, and its history shows every start.
 */
import { readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunSummary } from '../../src/index.js';
import { startCli } from '../helpers/cli.js';
import { isAlive, makeRepo, type TempRepo } from '../helpers/git-repo.js';

let repo: TempRepo;
afterEach(() => repo?.cleanup());

/** Pids of live processes whose working directory is under `dir` (workers run in their worktrees). */
function processesUnder(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/cwd`).startsWith(dir) && isAlive(Number(entry))) pids.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

const lines = (file: string): string[] => readFileSync(file, 'utf8').split('\n').filter((line) => line !== '');

describe('a task that kills its supervisor', () => {
  it('is dead with TASK_KILLS_SUPERVISOR after 3 crash-releases; the rest complete; its history shows the released starts', { timeout: 180_000 }, async () => {
    repo = makeRepo();
    const marks = path.join(repo.dir, 'marks');
    const victims = path.join(repo.dir, 'victims');
    writeFileSync(marks, '');
    writeFileSync(victims, '');
    // The task's parent is its worker process; the worker's parent is the supervisor. The
    // killer notes what it is about to kill (checked below), lets the others get going, kills.
    const killer = [
      `echo "$COORD_ATTEMPT" >> ${marks}`,
      'sleep 1',
      'sup=$(ps -o ppid= -p $PPID | tr -d " ")',
      `ps -o args= -p "$sup" >> ${victims}`,
      'kill -9 "$sup"',
      'sleep 5',
    ].join('; ');
    const tasks = [
      { id: 'killer', priority: 5, run: ['sh', '-c', killer] },
      { id: 'after-killer', deps: ['killer'], run: ['sh', '-c', 'echo never > never.txt'] },
      ...['n1', 'n2', 'n3'].map((id) => ({ id, run: ['sh', '-c', `echo ${id} > out-${id}.txt`] })),
    ];
    const file = path.join(repo.dir, 'tasks.json');
    writeFileSync(file, JSON.stringify({ tasks }));
    const summaryFile = path.join(repo.dir, 'run.json');
    // The same command every time, as a service manager runs it.
    const command = [
      '--workers', '2', '--repo', repo.repo, '--state-dir', repo.stateDir, '--worktree-root', repo.worktreeRoot,
      '--tasks', file, '--once', '--summary', summaryFile,
    ];

    const exits: Array<{ code: number | null; signal: string | null }> = [];
    for (let run = 0; run < 6; run += 1) {
      const cli = startCli(command);
      const exit = await cli.exit;
      exits.push(exit);
      if (exit.signal !== 'SIGKILL') break;
      // Orphaned workers notice and exit by themselves (killing their tasks) before the restart.
      await expect.poll(() => processesUnder(repo.worktreeRoot), { timeout: 10_000, interval: 25, message: 'orphaned workers to exit' }).toEqual([]);
    }

    // Three supervisors killed (the killer ran three times, always as attempt 1), then a run
    // that found the budget spent at start-up and finished the rest: exit 1.
    expect(exits).toEqual([
      { code: null, signal: 'SIGKILL' },
      { code: null, signal: 'SIGKILL' },
      { code: null, signal: 'SIGKILL' },
      { code: 1, signal: null },
    ]);
    expect(lines(marks)).toEqual(['1', '1', '1']);
    // What the killer killed each time was the supervisor (`node …/supervisor.js …`).
    expect(lines(victims)).toHaveLength(3);
    for (const victim of lines(victims)) expect(victim).toContain('supervisor.js');

    const summary = JSON.parse(readFileSync(summaryFile, 'utf8')) as RunSummary;
    const byId = new Map(summary.tasks.map((t) => [t.id, t]));
    const dead = byId.get('killer');
    expect(dead).toMatchObject({ status: 'dead', attempts: 0, error: { code: 'TASK_KILLS_SUPERVISOR' } });
    expect(dead?.error?.message).toContain('supervisor');
    expect(dead?.history).toHaveLength(3);
    for (const start of dead?.history ?? []) {
      expect(start).toMatchObject({ attempt: 1, released: true, releaseReason: 'supervisor restarted', code: null });
      expect(typeof start.releasedAt).toBe('string');
      expect(start.startedAt).not.toBeNull();
    }
    expect(byId.get('after-killer')).toMatchObject({ status: 'blocked', error: { code: 'DEP_DEAD' } });
    for (const id of ['n1', 'n2', 'n3']) expect(byId.get(id)?.status).toBe('complete');
  });
});
