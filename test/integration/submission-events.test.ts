/**
 * Submissions and redrives go down the same outcome path as everything else, so they are
 * announced like everything else: a task blocked at submission (its dependency is already
 * dead) gets its `coord:blocked`, and a redrive its `coord:redriven`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createSupervisor, type Supervisor } from '../../src/index.js';
import { makeRepo, type TempRepo } from '../helpers/git-repo.js';

let repo: TempRepo;
let supervisor: Supervisor | undefined;
afterEach(async () => {
  if (supervisor && !['stopped', 'failed'].includes(supervisor.status().state)) await supervisor.stop();
  supervisor = undefined;
  repo?.cleanup();
});

describe('submission and redrive events', () => {
  it('announces a task blocked at submission, and a redrive with what it put back', async () => {
    repo = makeRepo();
    const s = (supervisor = createSupervisor({ repo: repo.repo, workers: 1, stateDir: repo.stateDir, worktreeRoot: repo.worktreeRoot, store: 'memory:' }));
    const blocked: string[] = [];
    s.events.on('coord:blocked', (e) => blocked.push(`${e.taskId}:${e.error.code}`));
    await s.start();
    await s.submit([{ id: 'doomed', run: ['false'], maxAttempts: 1 }]);
    await s.settled();
    await s.submit([{ id: 'late', run: ['true'], deps: ['doomed'] }]);
    expect(blocked).toEqual(['late:DEP_DEAD']);
    const redriven = new Promise<string[]>((resolve) => s.events.on('coord:redriven', (e) => resolve(e.changed)));
    await s.redrive('doomed');
    expect((await redriven).sort()).toEqual(['doomed', 'late']);
  });
});
