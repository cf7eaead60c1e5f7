/**
 * A task's work is exactly its own branch, and a task that breaks its workspace breaks
 * nothing else: a task that checks out `main` cannot move it (or the user's checkout), and
 * a worktree a task deleted or unregistered is rebuilt before the next task. Real forked
 * workers, real PTYs, real repositories.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSupervisor, type Supervisor, type SupervisorOptions } from '../../src/index.js';
import { entryFor } from '../../src/pool/worker-entry.js';
import { filesChangedSince, refCommit } from '../helpers/branch-files.js';
import { ROOT } from '../helpers/cli.js';
import { makeRepo, type TempRepo } from '../helpers/git-repo.js';

let repo: TempRepo | undefined;
let supervisor: Supervisor | undefined;
afterEach(async () => {
  if (supervisor && !['stopped', 'failed'].includes(supervisor.status().state)) await supervisor.stop();
  supervisor = undefined;
  repo?.cleanup();
  repo = undefined;
});

function create(r: TempRepo, extra: Partial<SupervisorOptions> = {}): Supervisor {
  supervisor = createSupervisor({
    repo: r.repo, workers: 1, stateDir: r.stateDir, worktreeRoot: r.worktreeRoot, heartbeatMs: 200,
    // The built orchestrator forks in ~60 ms instead of ~1 s through the TypeScript loader.
    workerEntry: entryFor(path.join(ROOT, 'dist', 'workers', 'orchestrator.js')),
    ...extra,
  });
  return supervisor;
}

const sh = (script: string): string[] => ['sh', '-c', script];
const writeOwn = sh('echo "$COORD_TASK_ID" > "$COORD_TASK_ID.txt"');

describe('a task cannot move anyone else\'s branches', () => {
  it('a task that checks out main and commits there fails with TASK_MOVED_REF; main and the user\'s checkout are put back', async () => {
    const r = (repo = makeRepo());
    const main = r.git('rev-parse', 'main');
    const s = create(r);
    await s.start();
    await s.submit([
      { id: 'thief', maxAttempts: 1, run: sh('git checkout --quiet --ignore-other-worktrees main && echo stolen > stolen.txt && git add stolen.txt && git commit --quiet -m stolen') },
      { id: 'after', deps: [], run: writeOwn },
    ]);
    await s.settled();
    await s.drain();
    const tasks = new Map((await s.summary()).tasks.map((t) => [t.id, t]));
    const thief = tasks.get('thief');
    expect(thief?.status).toBe('dead');
    expect(thief?.error?.code).toBe('TASK_MOVED_REF');
    expect(thief?.error?.message).toContain('refs/heads/main');
    expect(thief?.error?.message).toContain('restored');
    // main is where it was, the user's checkout is clean, and the thief's commit is on its own branch only.
    expect(r.git('rev-parse', 'main')).toBe(main);
    expect(r.git('status', '--porcelain')).toBe('');
    expect(filesChangedSince(r.repo, main, refCommit(r.repo, 'refs/heads/coord/thief') ?? main)).toEqual(['stolen.txt']);
    expect(tasks.get('after')?.status).toBe('complete');

    // The next run starts (no REPO_DIRTY) and works.
    const again = create(r);
    await again.start();
    await again.submit([{ id: 'next', run: writeOwn }]);
    await again.settled();
    await again.drain();
    expect((await again.summary()).tasks.find((t) => t.id === 'next')?.status).toBe('complete');
  });

  it('a task that switches to main and leaves changes there completes with its work on its own branch; main does not move', async () => {
    const r = (repo = makeRepo());
    const main = r.git('rev-parse', 'main');
    const s = create(r);
    await s.start();
    await s.submit([{ id: 'wanderer', run: sh('git checkout --quiet --ignore-other-worktrees main && echo mine > wanderer.txt') }]);
    await s.settled();
    await s.drain();
    const task = (await s.summary()).tasks[0];
    expect(task?.status).toBe('complete');
    expect(task?.commit).toBe(refCommit(r.repo, 'refs/heads/coord/wanderer'));
    expect(filesChangedSince(r.repo, main, task?.commit ?? main)).toEqual(['wanderer.txt']);
    expect(r.git('rev-parse', 'main')).toBe(main);
    expect(r.git('status', '--porcelain')).toBe('');
  });

  it('a commit the user makes on main during an attempt is not charged to the task', async () => {
    const r = (repo = makeRepo());
    const s = create(r, { allowDirty: true });
    await s.start();
    const marker = path.join(r.dir, 'go');
    await s.submit([{ id: 'slow', run: sh(`while [ ! -e ${marker} ]; do sleep 0.05; done; echo slow > slow.txt`) }]);
    await new Promise<void>((resolve) => s.events.on('coord:started', () => resolve()));
    execFileSync('sh', ['-c', `echo user > user.txt && git add user.txt && git commit --quiet -m user && touch ${marker}`], { cwd: r.repo });
    await s.settled();
    await s.drain();
    const task = (await s.summary()).tasks[0];
    expect(task?.status).toBe('complete');
    expect(r.git('log', '-1', '--format=%s', 'main')).toBe('user');
  });
});

describe('a broken workspace is repaired, not blamed on the next task', () => {
  it.each([
    ['rm -f .git', 'no-git-file'],
    ['git worktree remove -f -f .', 'missing'],
  ])('after `%s` inside a task, the next 10 tasks on the same worker all run and complete', { timeout: 120_000 }, async (breaker) => {
    const r = (repo = makeRepo());
    const s = create(r);
    await s.start();
    const ids = Array.from({ length: 10 }, (_, i) => `next${i}`);
    // A chain, so every task runs after the breaker, on the one worker.
    await s.submit([
      { id: 'breaker', maxAttempts: 1, run: sh(breaker) },
      ...ids.map((id, i) => ({ id, deps: [i === 0 ? 'breaker-done' : ids[i - 1] ?? ''], run: writeOwn, maxAttempts: 1 })),
      { id: 'breaker-done', run: sh('true') },
    ]);
    await s.settled();
    await s.drain();
    const summary = await s.summary();
    const notComplete = summary.tasks.filter((t) => t.id !== 'breaker' && t.status !== 'complete').map((t) => `${t.id}: ${t.status} ${t.error?.message ?? ''}`);
    expect(notComplete).toEqual([]);
    // The breaker's own work could not be committed: it is not reported complete.
    expect(summary.tasks.find((t) => t.id === 'breaker')?.status).toBe('dead');
    expect(summary.workers[0]?.repairs).toBeGreaterThanOrEqual(1);
    for (const id of ids) expect(summary.tasks.find((t) => t.id === id)?.commit).toBe(refCommit(r.repo, `refs/heads/coord/${id}`));
  });

  it('git\'s own lock makes a plain `git worktree remove --force` inside a task fail; the worktree stays', async () => {
    const r = (repo = makeRepo());
    const s = create(r);
    await s.start();
    await s.submit([{ id: 'remover', maxAttempts: 1, run: sh('git worktree remove --force .') }, { id: 'later', deps: ['remover-x'], run: writeOwn }, { id: 'remover-x', run: sh('true') }]);
    await s.settled();
    await s.drain();
    const summary = await s.summary();
    expect(summary.tasks.find((t) => t.id === 'remover')?.error?.code).toBe('TASK_EXIT_NONZERO');
    expect(summary.tasks.find((t) => t.id === 'later')?.status).toBe('complete');
    expect(summary.workers[0]?.repairs).toBe(0);
  });
});
