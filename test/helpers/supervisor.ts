/**
 * One supervisor per test, on a temporary repository, stopped and removed after it: for
 * integration tests of the programmatic API with real forked workers.
 */
import { afterEach } from 'vitest';
import { createSupervisor, type Supervisor } from '../../src/index.js';
import { makeRepo, type TempRepo } from './git-repo.js';

type Options = Parameters<typeof createSupervisor>[0];

export interface SupervisorFixture {
  /** A new repository for this test (`files` committed once). */
  repo(files?: Record<string, string>): TempRepo;
  /** A supervisor on the test's repository, its state and worktrees beside it, heartbeats every 200 ms. */
  create(options?: Partial<Options>): Supervisor;
}

/** Registers the clean-up (`afterEach`) and returns the fixture. Call it once, at a test file's top level. */
export function supervisorFixture(): SupervisorFixture {
  let repo: TempRepo | undefined;
  let supervisor: Supervisor | undefined;
  afterEach(async () => {
    if (supervisor && !['stopped', 'failed'].includes(supervisor.status().state)) await supervisor.stop();
    supervisor = undefined;
    repo?.cleanup();
    repo = undefined;
  });
  return {
    repo(files) {
      repo = makeRepo(files);
      return repo;
    },
    create(options = {}) {
      if (repo === undefined) throw new Error('make the repository first');
      supervisor = createSupervisor({ repo: repo.repo, stateDir: repo.stateDir, worktreeRoot: repo.worktreeRoot, heartbeatMs: 200, ...options });
      return supervisor;
    },
  };
}
