/**
 * Task branches shared between hosts through a git remote. Several supervisors on several
 * hosts drain one queue (PostgreSQL), each in its own clone of a shared origin: a task's
 * work must reach the host that runs its dependents. So a completed task's commit is pushed
 * as its branch *before* the completion is recorded (whoever sees the task complete can
 * fetch its work), and a host about to start a task whose dependencies ran on another node
 * fetches their branches first, into `refs/remotes/<remote>/coord/<id>`.
 *
 * On one host nothing here runs git: every dependency commit is already local.
 */
import { CoordError } from '../errors.js';
import { runGit } from '../git/run-git.js';
import type { TaskRecord } from '../lifecycle/task-record.js';
import type { DependencyTip } from './start-commit.js';

/** A dependency's finished work: its commit, its branch and the node that made it. */
export interface DependencyHead extends DependencyTip {
  branch: string;
  /** The node of the attempt that completed it (null when unknown). */
  node: string | null;
}

/** A push or fetch must not start a gc or maintenance run in the user's clone. */
const QUIET = ['-c', 'gc.auto=0', '-c', 'maintenance.auto=false'];
const PUSH_TRIES = 3;

/** A finished dependency as the start commit needs it, from its stored record. */
export function dependencyHead(taskId: string, record: TaskRecord | undefined): DependencyHead {
  return { taskId, commit: record?.commit ?? '', branch: record?.branch ?? '', node: record?.attempts.at(-1)?.node ?? null };
}

export class SharedBranches {
  /** Fetches run one at a time: two fetches of the same branch would race for its ref lock. */
  private fetching: Promise<unknown> = Promise.resolve();

  /**
   * @param repoRoot the host's clone
   * @param remote the remote shared by every host, or null (one host: nothing is shared)
   * @param nodeId this supervisor's node id
   */
  constructor(
    private readonly repoRoot: string,
    readonly remote: string | null,
    private readonly nodeId: string,
    private readonly pause: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  ) {}

  /** Whether completed branches are pushed. */
  get publishing(): boolean {
    return this.remote !== null;
  }

  /**
   * Pushes `commit` to the remote under its own name, `refs/coord/commits/<sha>`, before the
   * completion is recorded: that ref never changes, so an attempt whose push lands late (its
   * lease long lost) cannot overwrite the work another host depends on. Dependents fetch it
   * by the commit the store recorded. Tries three times, then throws `GIT_PUSH_FAILED`.
   */
  async share(commit: string): Promise<void> {
    if (this.remote === null) return;
    await this.push(`${commit}:${commitRef(commit)}`);
  }

  /**
   * Moves `refs/heads/<branch>` on the remote to `commit` (forced: a retried or redriven
   * task's branch is rewritten, and coord owns `coord/*`), once the store recorded it as the
   * task's completion: the branch people look at is always the recorded one.
   */
  async advertise(branch: string, commit: string): Promise<void> {
    if (this.remote === null) return;
    await this.push(`+${commit}:refs/heads/${branch}`);
  }

  /**
   * Brings the remote's task branches up to what the store recorded, for every completed task
   * given: a host killed between recording a completion and moving its branch leaves that
   * branch behind, and whichever host finishes the run repairs it. Each branch is pushed only
   * if it is still what the remote had when listed (`--force-with-lease`), so a branch another
   * host moved meanwhile (a redriven task's newer work) is never put back. Resolves with the
   * branches it moved.
   */
  async advertiseAll(tips: ReadonlyArray<{ branch: string; commit: string }>): Promise<string[]> {
    if (this.remote === null || tips.length === 0) return [];
    const listed = await runGit([...QUIET, 'ls-remote', '--heads', this.remote, 'refs/heads/coord/*'], { cwd: this.repoRoot, errorCode: 'GIT_PUSH_FAILED' });
    const remoteTips = new Map(listed.stdout.split('\n').filter(Boolean).map((line) => {
      const [sha = '', ref = ''] = line.split('\t');
      return [ref, sha] as const;
    }));
    const behind = tips.filter(({ branch, commit }) => remoteTips.get(`refs/heads/${branch}`) !== commit);
    if (behind.length === 0) return [];
    const leases = behind.map(({ branch }) => `--force-with-lease=refs/heads/${branch}:${remoteTips.get(`refs/heads/${branch}`) ?? ''}`);
    const refspecs = behind.map(({ branch, commit }) => `${commit}:refs/heads/${branch}`);
    // A branch that moved meanwhile is refused, the others go through: git exits 1 then.
    await runGit([...QUIET, 'push', '--quiet', '--no-verify', ...leases, this.remote, ...refspecs], { cwd: this.repoRoot, errorCode: 'GIT_PUSH_FAILED', okExitCodes: [0, 1] });
    return behind.map(({ branch }) => branch);
  }

  private async push(refspec: string): Promise<void> {
    const args = [...QUIET, 'push', '--quiet', '--no-verify', this.remote ?? '', refspec];
    for (let attempt = 1; ; attempt += 1) {
      try {
        await runGit(args, { cwd: this.repoRoot, errorCode: 'GIT_PUSH_FAILED' });
        return;
      } catch (error) {
        if (attempt >= PUSH_TRIES) throw error;
        await this.pause(250 * attempt);
      }
    }
  }

  /**
   * Makes sure every dependency commit is in this clone, fetching the branches of those
   * that ran on another node and are missing. Throws `DEP_COMMIT_MISSING` when a commit
   * cannot be had (no remote configured, the fetch failed, or the remote does not have it).
   */
  async ensureLocal(deps: readonly DependencyHead[]): Promise<void> {
    const foreign = deps.filter((dep) => dep.commit !== '' && dep.node !== null && dep.node !== this.nodeId);
    if (foreign.length === 0) return;
    let missing = await this.missing(foreign);
    if (missing.length === 0) return;
    if (this.remote === null) throw missingError(missing, 'no remote is configured to share task branches between hosts (--remote)');
    const remote = this.remote;
    const fetched = this.fetching.then(async () => {
      // An earlier fetch (another task with the same dependency) may have brought them.
      const still = await this.missing(missing);
      if (still.length === 0) return still;
      const refspecs = still.map((dep) => `${commitRef(dep.commit)}:${commitRef(dep.commit)}`);
      // A failed fetch (unreachable remote, branch never pushed) is the same answer: the work cannot be had.
      await runGit([...QUIET, 'fetch', '--quiet', '--no-tags', '--no-write-fetch-head', remote, ...refspecs], { cwd: this.repoRoot, errorCode: 'DEP_COMMIT_MISSING' });
      return this.missing(still);
    });
    this.fetching = fetched.catch(() => undefined);
    missing = await fetched;
    if (missing.length > 0) throw missingError(missing, `remote "${remote}" does not have them (were they pushed?)`);
  }

  /** The dependencies whose commit object is not in this clone (one `cat-file` for all). */
  private async missing(deps: readonly DependencyHead[]): Promise<DependencyHead[]> {
    const input = deps.map((dep) => `${dep.commit}^{commit}`).join('\n') + '\n';
    const { stdout } = await runGit(['cat-file', '--batch-check=%(objectname)'], { cwd: this.repoRoot, input });
    const lines = stdout.split('\n');
    return deps.filter((_, i) => (lines[i] ?? '').endsWith(' missing'));
  }
}

/** The immutable ref a task's completed commit is shared under. */
function commitRef(commit: string): string {
  return `refs/coord/commits/${commit}`;
}

function missingError(missing: readonly DependencyHead[], why: string): CoordError {
  const list = missing.map((dep) => `${dep.taskId} (${dep.commit.slice(0, 12)} on node ${dep.node ?? '?'})`).join(', ');
  return new CoordError('DEP_COMMIT_MISSING', `the work of dependencies ${list} is not in this clone: ${why}`, {
    details: { deps: missing.map((dep) => ({ taskId: dep.taskId, commit: dep.commit, node: dep.node })) },
  });
}

/**
 * Which remote a supervisor shares task branches through: `false` none; a name, which must
 * exist in the clone (else `CONFIG_INVALID`); by default `origin` when the store is shared
 * (PostgreSQL) and the clone has an `origin`, else none.
 */
export async function resolveSharedRemote(repoRoot: string, option: string | false | undefined, storeKind: string): Promise<string | null> {
  if (option === false || (option === undefined && storeKind !== 'postgres')) return null;
  const name = option ?? 'origin';
  const found = (await runGit(['remote', 'get-url', name], { cwd: repoRoot, okExitCodes: [0, 2, 128] })).exitCode === 0;
  if (found || option === undefined) return found ? name : null;
  throw new CoordError('CONFIG_INVALID', `remote "${name}" is not configured in ${repoRoot} (git remote add ${name} <url>, or --remote none)`, {
    details: { remote: name, repo: repoRoot },
  });
}
