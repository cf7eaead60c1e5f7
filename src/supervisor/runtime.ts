/**
 * What a started supervisor runs on, built once by the coordinator's `initialize`: the
 * repository, the state directory and its lock, the log, the store and this node's hold on
 * it, the shared branches, the worktrees and their locks. Everything held is released
 * last-first by {@link Holds.releaseAll}, also when building fails half-way, so a refused or
 * failed start leaves nothing locked behind it.
 */
import path from 'node:path';
import type { WorkerInput } from '../../machines/worker.js';
import { lockOrRefuse, thisProcess } from '../locks/file-lock.js';
import { createLogger, type Logger } from '../log/logger.js';
import { defaultStoreUrl, parseStoreUrl } from '../store/store-url.js';
import type { TaskStore } from '../store/task-store.js';
import { openRepository, type Repository } from '../worktrees/repository.js';
import { resolveSharedRemote, SharedBranches } from '../worktrees/shared-branches.js';
import { defaultWorktreeRoot, WorktreeManager } from '../worktrees/worktrees.js';
import type { FaultStop } from './fault-stop.js';
import type { ResolvedOptions } from './options.js';
import { plural } from '../plural.js';
import { prepareStateDir } from './state-dir.js';
import { layoutWorkers, type Pool, type PoolSlot } from '../pools/layout.js';
import { openConfiguredStore } from './store-choice.js';

/** Where a run keeps things, as the user should be told once. */
export interface RunPaths {
  repo: string;
  stateDir: string;
  /** The store, as a URL without secrets (`sqlite:/…/coord.db`, `postgres://u:***@h/db?schema=coord`, `memory:`). */
  store: string;
  worktreeRoot: string;
  /** coord's own log; null when the embedding program supplied its logger. */
  logFile: string | null;
  /** Per-task, per-attempt output logs live under here. */
  taskLogDir: string;
}

export interface Runtime {
  repo: Repository;
  stateDir: string;
  /** Per-task, per-attempt output logs live under here. */
  taskLogDir: string;
  paths: RunPaths;
  logger: Logger;
  store: TaskStore;
  shared: SharedBranches;
  /** The worker slots to spawn, each with its prepared worktree. */
  workers: WorkerInput[];
  /** The run's pools (the implicit `default` one without `pools`), and which pool each worker slot is in. */
  pools: Pool[];
  slots: PoolSlot[];
  /** Prepares one more worker slot (its worktree locked and ready), for scaling up: in the default pool. */
  prepareWorker(workerId: string): Promise<WorkerInput>;
  holds: Holds;
}

/** What a runtime holds (locks, the store), released last-first. */
export class Holds {
  private readonly releases: Array<() => unknown> = [];

  add(release: () => unknown): void {
    this.releases.push(release);
  }

  /** Releases everything, even when one release fails; the first failure is rethrown after. */
  async releaseAll(): Promise<void> {
    let failure: unknown;
    for (let release = this.releases.pop(); release; release = this.releases.pop()) {
      try {
        await release();
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure !== undefined) throw failure;
  }
}

/** The configured store as a URL without secrets. */
function describeStore(config: Pick<ResolvedOptions, 'store'>, stateDir: string): string {
  if (typeof config.store === 'object') return `${config.store.kind} (a store instance)`;
  const location = parseStoreUrl(config.store ?? defaultStoreUrl(stateDir));
  switch (location.kind) {
    case 'memory':
      return 'memory:';
    case 'sqlite':
      return `sqlite:${location.path}`;
    case 'postgres':
      return location.display;
  }
}

/** The state directory of a run: `--state-dir`, or `.git/coord` of the repository. */
export function stateDirOf(config: Pick<ResolvedOptions, 'stateDir'>, repo: Repository): string {
  return config.stateDir ? path.resolve(config.stateDir) : path.join(repo.gitDir, 'coord');
}

/**
 * Opens everything a run needs, in the order that makes each step safe: the state directory
 * is locked before anything in it is touched, the store is held for this node before
 * recovery can run, worktrees are locked before a worker is given one. `pools` lays out the
 * worker slots (see src/pools/layout.ts).
 */
export async function openRuntime(config: ResolvedOptions, pools: Pool[], faults: FaultStop, random: () => number): Promise<Runtime> {
  const repo = await openRepository(config.repo, { baseRef: config.baseRef, requireClean: !config.allowDirty });
  const stateDir = stateDirOf(config, repo);
  await prepareStateDir(stateDir);
  const holds = new Holds();
  // One supervisor per state directory: a second one would "recover" the first one's tasks
  // in flight and run them again in the same worktrees.
  const owner = thisProcess(config.nodeId, `the state directory ${stateDir}`);
  const stateLock = lockOrRefuse(path.join(stateDir, 'supervisor.lock'), owner, 'STATE_LOCKED',
    'stop it first (SIGTERM drains it), or give this one its own --state-dir');
  holds.add(() => stateLock.release());
  try {
    const logFile = path.join(stateDir, 'logs', 'coord.log');
    const logger = config.logger ?? createLogger({
      file: logFile, level: config.logLevel, stderrLevel: config.logStderrLevel,
      onError: (error) => void faults.fatal(error, { kind: 'file', path: logFile }),
    });
    if (!config.logger) holds.add(() => logger.flush?.());
    if (repo.uncommitted.length > 0) {
      logger.warn({ files: repo.uncommitted.slice(0, 20), baseCommit: repo.baseCommit },
        `--allow-dirty: ${plural(repo.uncommitted.length, 'file has', 'files have')} uncommitted changes; tasks start from ${repo.baseCommit.slice(0, 12)} and will not see them`);
    }
    const store = await openConfiguredStore(config, stateDir, random);
    if (typeof config.store !== 'object') holds.add(() => store.close());
    // Under this hold nobody else alive is this node, so what it holds in flight is a dead
    // process's: recovery can take it without stealing a live claim.
    const nodeHold = await store.holdNode(owner);
    holds.add(() => nodeHold.release());
    const shared = new SharedBranches(repo.root, await resolveSharedRemote(repo.root, config.remote, store.kind), config.nodeId);
    const worktreeRoot = config.worktreeRoot ? path.resolve(config.worktreeRoot) : defaultWorktreeRoot(repo);
    const worktrees = new WorktreeManager(repo, worktreeRoot, owner);
    holds.add(() => worktrees.releaseAll());
    const { type: restart, ...limits } = config.restart;
    const prepareSlot = async (workerId: string, capabilities: readonly string[]): Promise<WorkerInput> => {
      const ensured = await worktrees.ensure(workerId);
      if (ensured.repaired) logger.warn({ workerId, worktree: ensured.path, found: ensured.repaired }, 'rebuilt a broken worktree');
      return { workerId, worktree: ensured.path, capabilities: [...capabilities], restartPolicy: { restart, ...limits }, random };
    };
    const slots = layoutWorkers(pools);
    // All at once, so the worktrees' checkouts overlap; every one settles before a failure is
    // thrown, so none is still taking its lock while the holds are released.
    const prepared = await Promise.allSettled(slots.map((slot) => prepareSlot(slot.workerId, slot.capabilities)));
    const failed = prepared.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    const workers = prepared.map((result) => (result as PromiseFulfilledResult<WorkerInput>).value);
    const taskLogDir = path.join(stateDir, 'logs', 'tasks');
    const paths: RunPaths = {
      repo: repo.root, stateDir, store: describeStore(config, stateDir), worktreeRoot, logFile: config.logger ? null : logFile, taskLogDir,
    };
    const prepareWorker = (workerId: string): Promise<WorkerInput> => prepareSlot(workerId, config.workerCapabilities);
    return { repo, stateDir, taskLogDir, paths, logger, store, shared, workers, pools, slots, prepareWorker, holds };
  } catch (error) {
    await holds.releaseAll();
    throw error;
  }
}
