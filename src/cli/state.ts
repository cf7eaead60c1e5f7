/**
 * Finding a repository's coord state from the command line — `--state-dir DIR`, or
 * `--repo PATH` (default: the repository of the current directory), and `--store URL` — and
 * opening its store for the commands that read or change it without a run of their own
 * (`status`, `tasks`, `task`, `logs`, `redrive`, `clean`). The first four open it read-only.
 * A supervisor may be running on the same store meanwhile: SQLite and PostgreSQL both let
 * it, and it picks up a redrive.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { CoordError } from '../errors.js';
import { describeHolder, probeLock, type LockHolder } from '../locks/file-lock.js';
import { stateDirOf } from '../supervisor/runtime.js';
import { openStore } from '../store/open-store.js';
import { defaultStoreUrl, parseStoreUrl } from '../store/store-url.js';
import type { TaskStore } from '../store/task-store.js';
import { openRepository, type Repository } from '../worktrees/repository.js';

/** The flags every store command takes. */
export interface StateFlags {
  repo?: string | undefined;
  stateDir?: string | undefined;
  store?: string | undefined;
}

export interface StateLocation {
  /** The repository, when one was found (`--state-dir` alone may name state without one). */
  repo: Repository | null;
  stateDir: string;
  storeUrl: string;
}

/** Where the state is: `--state-dir`, else `<repo>/.git/coord`; the store: `--store`, else the state directory's SQLite file. */
export async function locateState(flags: StateFlags): Promise<StateLocation> {
  const repo = flags.stateDir !== undefined && flags.repo === undefined
    ? await openRepository(process.cwd(), { requireClean: false }).catch(() => null)
    : await openRepository(path.resolve(flags.repo ?? process.cwd()), { requireClean: false });
  const stateDir = stateDirOf({ stateDir: flags.stateDir }, repo as Repository);
  return { repo, stateDir, storeUrl: flags.store ?? defaultStoreUrl(stateDir) };
}

/** How a command uses the store: `read` opens it read-only (nothing migrated, nothing written). */
export type StoreAccess = 'read' | 'write';

/** Opens the located store; `STATE_NOT_FOUND` when nothing has run there yet. */
export async function openStateStore(location: StateLocation, access: StoreAccess): Promise<TaskStore> {
  const parsed = parseStoreUrl(location.storeUrl);
  if (parsed.kind === 'memory') {
    throw new CoordError('USAGE', 'a memory: store lives only inside the supervisor that made it: there is nothing to read from here');
  }
  if (parsed.kind === 'sqlite' && !existsSync(parsed.path)) {
    throw new CoordError('STATE_NOT_FOUND', `no coord state at ${parsed.path}: nothing has run here yet (or pass --state-dir / --store)`, {
      details: { store: location.storeUrl },
    });
  }
  return openStore(location.storeUrl, { readOnly: access === 'read' });
}

/** Runs `use` with the located store open, closing it after. */
export async function withStateStore<T>(
  flags: StateFlags,
  access: StoreAccess,
  use: (store: TaskStore, location: StateLocation) => Promise<T>,
): Promise<T> {
  const location = await locateState(flags);
  const store = await openStateStore(location, access);
  try {
    return await use(store, location);
  } finally {
    await store.close();
  }
}

/** Throws `STATE_LOCKED` when a supervisor runs on this state: `what` may not run beside it. */
export function refuseWhileRunning(stateDir: string, what: string): void {
  const supervisor = supervisorOn(stateDir);
  if (supervisor.running) {
    throw new CoordError('STATE_LOCKED', `${what}: a supervisor is running on ${stateDir}, ${describeHolder(supervisor.holder)}: stop it first (SIGTERM drains it)`);
  }
}

/** Whether a supervisor is running on this state directory (holding its lock), and who. */
export function supervisorOn(stateDir: string): { running: true; holder: LockHolder | null } | { running: false } {
  const probe = probeLock(path.join(stateDir, 'supervisor.lock'));
  return probe.held ? { running: true, holder: probe.holder } : { running: false };
}
