/**
 * One command of a pool's setup: an argv (no shell) in the worker's worktree, stdout and
 * stderr both into the setup's log (one descriptor, so their lines stay in order), in a
 * process group of its own. An `npm ci` starts scripts that start compilers; aborting must
 * reach all of them, so the whole group gets SIGTERM, then SIGKILL after a grace period.
 */
import { spawn, type ChildProcess } from 'node:child_process';

/** How long an aborted command's group has between SIGTERM and SIGKILL. */
export const SETUP_KILL_GRACE_MS = 2_000;

/** How one command ended: an exit, or a start that failed (`spawnError`: ENOENT, EACCES…). */
export interface CommandEnd {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  spawnError: Error | null;
  /** It was stopped because the signal aborted. */
  aborted: boolean;
}

export interface CommandRun {
  argv: readonly string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** An open descriptor of the log; the command writes to it, it is not closed here. */
  logFd: number;
  signal?: AbortSignal;
}

/** Runs one command to its end; never rejects (an abort or a failed start is in the result). */
export function runSetupCommand(run: CommandRun): Promise<CommandEnd> {
  const [program, ...args] = run.argv;
  if (run.signal?.aborted) return Promise.resolve({ exitCode: null, signal: null, spawnError: null, aborted: true });
  if (program === undefined || program === '') {
    return Promise.resolve({ exitCode: null, signal: null, spawnError: new Error('the command is empty'), aborted: false });
  }
  return new Promise((resolve) => {
    let aborted = false;
    let killTimer: NodeJS.Timeout | undefined;
    let child: ChildProcess;
    const onAbort = (): void => {
      aborted = true;
      signalGroup(child, 'SIGTERM');
      killTimer = setTimeout(() => signalGroup(child, 'SIGKILL'), SETUP_KILL_GRACE_MS);
      killTimer.unref();
    };
    const finish = (end: Omit<CommandEnd, 'aborted'>): void => {
      run.signal?.removeEventListener('abort', onAbort);
      // The leader is gone; a member that ignored SIGTERM still gets its SIGKILL from the
      // timer. Without an abort nothing is left waiting.
      if (!aborted) clearTimeout(killTimer);
      resolve({ ...end, aborted });
    };
    try {
      child = spawn(program, args, { cwd: run.cwd, env: run.env, detached: true, stdio: ['ignore', run.logFd, run.logFd] });
    } catch (error) {
      finish({ exitCode: null, signal: null, spawnError: error instanceof Error ? error : new Error(String(error)) });
      return;
    }
    let ended = false;
    child.once('error', (error) => {
      if (ended) return;
      ended = true;
      finish({ exitCode: null, signal: null, spawnError: error });
    });
    child.once('exit', (exitCode, signal) => {
      if (ended) return;
      ended = true;
      finish({ exitCode, signal, spawnError: null });
    });
    run.signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Sends `signal` to the child's process group (it leads one: `detached`); a group already gone is fine. */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  // A missing pid (the spawn failed) must never become `-0`, this process's own group.
  if (child.pid === undefined || child.pid <= 1) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group has no process left
  }
}
