/**
 * Real daemons for integration tests: started detached in a temporary repository, and
 * killed (if still alive) after each test.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, vi } from 'vitest';
import { runCli } from './cli.js';
import { isAlive, type TempRepo } from './git-repo.js';

/** What `coord daemon start --detach` said, with a GET on its HTTP API when it has one. */
export interface StartedDaemon {
  pid: number;
  socket: string;
  http: string | null;
  get<T>(route: string): Promise<{ status: number; body: T }>;
}

const started: number[] = [];

/** The flags that put a command on `repo`'s state. */
export const stateOf = (repo: TempRepo): string[] => ['--repo', repo.repo, '--state-dir', repo.stateDir];

/** Starts a daemon on `repo` (its state and worktree root) with `flags`; it is killed by {@link killDaemons}. */
export async function startDaemon(repo: TempRepo, ...flags: string[]): Promise<StartedDaemon> {
  const run = await runCli(['daemon', 'start', '--detach', ...stateOf(repo), '--worktree-root', repo.worktreeRoot, ...flags], { cwd: repo.dir });
  expect(run.code, run.stderr).toBe(0);
  const facts = JSON.parse(run.stdout) as { pid: number; socket: string; http: string | null };
  started.push(facts.pid);
  return {
    ...facts,
    async get<T>(route: string) {
      if (facts.http === null) throw new Error('the daemon was started without --http');
      const token = readFileSync(path.join(repo.stateDir, 'http.token'), 'utf8').trim();
      const response = await fetch(`${facts.http}${route}`, { headers: { authorization: `Bearer ${token}` } });
      return { status: response.status, body: (await response.json()) as T };
    },
  };
}

/** Kills every daemon started since the last call that is still alive, and waits until they are gone. */
export async function killDaemons(): Promise<void> {
  for (const pid of started.splice(0)) {
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    await vi.waitFor(() => expect(isAlive(pid)).toBe(false), { timeout: 10_000 });
  }
}
