/**
 * Durable state: kill -9 the supervisor mid-run, start it again on the same state
 * directory without the task file: it resumes, re-runs what was in flight, and completes
 * every task exactly once.
 */
import { readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunSummary } from '../../src/index.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { runCli, startCli } from '../helpers/cli.js';
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

describe('recovery after kill -9', () => {
  it('resumes from the store: in-flight tasks run again, every task completes exactly once', { timeout: 120_000 }, async () => {
    repo = makeRepo();
    const marks = path.join(repo.dir, 'marks');
    writeFileSync(marks, '');
    // Each task records each time it starts, then takes a little while.
    const tasks = Array.from({ length: 12 }, (_, i) => ({
      id: `t${i}`,
      deps: i >= 4 ? [`t${i - 4}`] : [],
      run: ['sh', '-c', `echo "$COORD_TASK_ID" >> ${marks}; echo $COORD_TASK_ID > out-$COORD_TASK_ID.txt; sleep 0.4`],
    }));
    const file = path.join(repo.dir, 'tasks.json');
    writeFileSync(file, JSON.stringify({ tasks }));
    const common = ['--workers', '2', '--repo', repo.repo, '--state-dir', repo.stateDir, '--worktree-root', repo.worktreeRoot, '--once'];

    const first = startCli([...common, '--tasks', file]);
    await expect
      .poll(() => readFileSync(marks, 'utf8').trim().split('\n').length, { timeout: 15_000, interval: 25, message: 'a few tasks to start' })
      .toBeGreaterThanOrEqual(5);
    first.child.kill('SIGKILL');
    await first.exit;
    // Workers notice their supervisor is gone and exit by themselves, killing their tasks.
    await expect.poll(() => processesUnder(repo.worktreeRoot), { timeout: 5_000, interval: 25, message: 'orphaned workers to exit' }).toEqual([]);

    const summaryFile = path.join(repo.dir, 'run.json');
    const second = await runCli([...common, '--summary', summaryFile]);
    expect(second.code, second.stderr).toBe(0);
    const summary = JSON.parse(readFileSync(summaryFile, 'utf8')) as RunSummary;
    expect(summary.tasks.map((t) => t.status)).toEqual(tasks.map(() => 'complete'));
    // Worktrees and task branches were reused, not recreated.
    for (const t of tasks) expect(repo.git('show', `coord/${t.id}:out-${t.id}.txt`)).toBe(t.id);

    // Exactly one completion per task in the store's event log.
    const store = new SqliteStore(path.join(repo.stateDir, 'coord.db'));
    await store.open();
    const events = await store.events(0, 10_000);
    await store.close();
    const completions = events.filter((e) => e.type === 'task.completed').map((e) => e.taskId);
    expect(completions.sort()).toEqual(tasks.map((t) => t.id).sort());
    // At least once: some task started twice (it was in flight at the kill).
    const starts = readFileSync(marks, 'utf8').trim().split('\n');
    expect(starts.length).toBeGreaterThan(tasks.length);
  });

  it('a graceful SIGTERM drain returns in-flight tasks to ready without using an attempt; the next start finishes them', { timeout: 120_000 }, async () => {
    repo = makeRepo();
    const tasks = ['a', 'b', 'c'].map((id) => ({ id, run: ['sh', '-c', 'sleep 1.5; echo done > done.txt'], maxAttempts: 1 }));
    const file = path.join(repo.dir, 'tasks.json');
    writeFileSync(file, JSON.stringify({ tasks }));
    const common = ['--workers', '3', '--repo', repo.repo, '--state-dir', repo.stateDir, '--worktree-root', repo.worktreeRoot, '--once', '--drain-deadline-ms', '100'];
    const first = startCli([...common, '--tasks', file]);
    await expect
      .poll(() => first.stderr().split('started on').length - 1, { timeout: 15_000, interval: 25, message: 'three tasks to start' })
      .toBeGreaterThanOrEqual(3);
    first.child.kill('SIGTERM');
    expect((await first.exit).code).toBe(1);
    const summaryFile = path.join(repo.dir, 'run.json');
    const second = await runCli([...common, '--summary', summaryFile]);
    expect(second.code, second.stderr).toBe(0);
    const summary = JSON.parse(readFileSync(summaryFile, 'utf8')) as RunSummary;
    // maxAttempts 1 and still complete: the drained attempt did not count.
    expect(summary.tasks.map((t) => [t.status, t.attempts])).toEqual([['complete', 1], ['complete', 1], ['complete', 1]]);
    // …but the drained start is in the history, marked, with the reason it was taken back.
    for (const task of summary.tasks) {
      expect(task.history.map((h) => [h.attempt, h.released, h.releaseReason])).toEqual([[1, true, 'drain deadline reached'], [1, false, null]]);
    }
  });
});
