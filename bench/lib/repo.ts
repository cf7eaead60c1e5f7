/**
 * Scratch git repositories for the benchmarks: created in the system temp folder, with a
 * local identity, one commit, and as many files as the benchmark asks for. The folder also
 * holds the worktrees and coord's state directory, so removing it removes everything.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A scratch repository and the folders coord uses beside it. */
export interface BenchRepo {
  /** The folder holding everything below (removed by `cleanup`). */
  dir: string;
  repo: string;
  worktreeRoot: string;
  stateDir: string;
  git(...args: string[]): string;
  cleanup(): void;
}

/**
 * A repository with `files` small files in a few folders (100 per folder), committed once.
 *
 * @example
 * const scratch = makeRepo(2_000);
 * try { ... } finally { scratch.cleanup(); }
 */
export function makeRepo(files = 1): BenchRepo {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'coord-bench-'));
  const repo = path.join(dir, 'repo');
  const git = (...args: string[]): string => execFileSync('git', args, { cwd: repo, encoding: 'utf8' }).trim();
  execFileSync('git', ['init', '--quiet', '--initial-branch=main', repo]);
  git('config', 'user.name', 'coord bench');
  git('config', 'user.email', 'bench@coord.invalid');
  for (let i = 0; i < files; i += 1) {
    const folder = path.join(repo, 'src', `m${Math.floor(i / 100)}`);
    if (i % 100 === 0) mkdirSync(folder, { recursive: true });
    writeFileSync(path.join(folder, `f${i}.ts`), `export const value${i} = ${i};\n`);
  }
  writeFileSync(path.join(repo, 'README.md'), '# bench\n');
  git('add', '-A');
  git('commit', '--quiet', '-m', 'initial');
  const scratch: BenchRepo = {
    dir,
    repo,
    worktreeRoot: path.join(dir, 'worktrees'),
    stateDir: path.join(dir, 'state'),
    git,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
  cleanups.add(scratch.cleanup);
  return scratch;
}

// A benchmark that fails midway should not leave 2000-file repositories in /tmp.
const cleanups = new Set<() => void>();
process.once('exit', () => {
  for (const cleanup of cleanups) cleanup();
});
