/**
 * `--fresh`: start a task file over on purpose. The stored queue is archived beside itself
 * (`coord.db.<time>.bak`, with its WAL files), the old `coord/<id>` branches of the file's
 * tasks are listed and removed, and the run then takes the file as new. Refused while a
 * supervisor runs on the state, and for PostgreSQL (shared by other hosts: a run there gets
 * its own `?schema=` instead).
 */
import { existsSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import { CoordError } from '../errors.js';
import { runGit } from '../git/run-git.js';
import { plural } from '../plural.js';
import type { TaskSpecInput } from '../tasks/spec.js';
import { existingTaskBranches, openRepository } from '../worktrees/repository.js';
import { defaultStoreUrl, parseStoreUrl } from '../store/store-url.js';
import { stateDirOf } from '../supervisor/runtime.js';
import { refuseWhileRunning } from './state.js';

/** Archives the store and removes the tasks' old branches; says what it did on stderr. */
export async function startFresh(flags: { stateDir?: string | undefined; store?: string | undefined }, repoPath: string, tasks: readonly TaskSpecInput[]): Promise<void> {
  const repo = await openRepository(repoPath, { requireClean: false });
  const stateDir = stateDirOf({ stateDir: flags.stateDir }, repo);
  refuseWhileRunning(stateDir, '--fresh');
  const location = parseStoreUrl(flags.store ?? defaultStoreUrl(stateDir));
  if (location.kind === 'postgres') {
    throw new CoordError('USAGE', '--fresh archives a SQLite store; a PostgreSQL queue is shared with other hosts: give this run its own ?schema= instead');
  }
  if (location.kind === 'sqlite' && existsSync(location.path)) {
    const archive = `${location.path}.${new Date().toISOString().replace(/[:.]/g, '-')}.bak`;
    for (const suffix of ['', '-wal', '-shm']) {
      if (existsSync(`${location.path}${suffix}`)) await rename(`${location.path}${suffix}`, `${archive}${suffix}`);
    }
    process.stderr.write(`coord --fresh: archived the stored queue to ${archive}\n`);
  }
  const existing = await existingTaskBranches(repo);
  const old = tasks.map((task) => `coord/${task.id}`).filter((branch) => existing.has(branch)).sort();
  if (old.length > 0) {
    process.stderr.write(`coord --fresh: removing ${plural(old.length, 'branch', 'branches')} of the earlier run: ${old.join(', ')}\n`);
    await runGit(['branch', '-D', ...old], { cwd: repo.root });
  }
}
