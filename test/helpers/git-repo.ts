/**
 * Real temporary git repositories for integration tests.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface TempRepo {
  /** The folder holding the repo, its worktrees and its state (removed by cleanup). */
  dir: string;
  repo: string;
  worktreeRoot: string;
  stateDir: string;
  git(...args: string[]): string;
  cleanup(): void;
}

/** A repository with `files` committed once, with a local identity. */
export function makeRepo(files: Record<string, string> = { 'README.md': '# test\n' }): TempRepo {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'coord-test-'));
  const repo = path.join(dir, 'repo');
  const git = (...args: string[]): string => execFileSync('git', args, { cwd: repo, encoding: 'utf8' }).trim();
  execFileSync('git', ['init', '--quiet', '--initial-branch=main', repo]);
  git('config', 'user.name', 'coord test');
  git('config', 'user.email', 'test@coord.invalid');
  for (const [name, text] of Object.entries(files)) {
    writeFileSync(path.join(repo, name), text);
  }
  git('add', '-A');
  git('commit', '--quiet', '-m', 'initial');
  return {
    dir,
    repo,
    worktreeRoot: path.join(dir, 'worktrees'),
    stateDir: path.join(dir, 'state'),
    git,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** True while a process with this pid exists (and is not a zombie). */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = execFileSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' }).trim();
    return stat !== '' && !stat.startsWith('Z');
  } catch {
    return false;
  }
}

/** A bare origin and clones of it, each with a local identity: several hosts' repositories. */
export interface SharedOrigin {
  dir: string;
  origin: string;
  /** Absolute paths of the clones, `host-0`, `host-1`, … */
  clones: string[];
  git(cwd: string, ...args: string[]): string;
  cleanup(): void;
}

/** A bare repository holding one commit of `files`, cloned `count` times. */
export function makeSharedOrigin(count: number, files: Record<string, string> = { 'README.md': '# shared\n' }): SharedOrigin {
  const seed = makeRepo(files);
  const git = (cwd: string, ...args: string[]): string => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();
  const origin = path.join(seed.dir, 'origin.git');
  git(seed.dir, 'clone', '--quiet', '--bare', seed.repo, origin);
  const clones = Array.from({ length: count }, (_, i) => {
    const clone = path.join(seed.dir, `host-${i}`);
    git(seed.dir, 'clone', '--quiet', origin, clone);
    git(clone, 'config', 'user.name', `coord test host ${i}`);
    git(clone, 'config', 'user.email', `host${i}@coord.invalid`);
    return clone;
  });
  return { dir: seed.dir, origin, clones, git, cleanup: seed.cleanup };
}
