/**
 * A pool's setup in one worker's worktree: the commands that make a fresh checkout usable
 * (`npm ci`, `uv sync`, writing a `.env`), run once per worktree and again only when they,
 * or the lock files at the base commit, changed — see setup-stamp.ts for what is compared
 * and where the stamp lives.
 *
 * Everything a setup makes must be git-ignored. coord commits whatever a task leaves
 * untracked and cleans the files git does not ignore before each task: an un-ignored
 * `node_modules` would land in the first task's commit, or be wiped before the second. So a
 * setup that leaves anything `git status` shows fails, naming the files, rather than work
 * for one task and surprise the next.
 *
 * One call at a time per worktree: the caller owns the worktree (its worker's OS lock).
 */
import { closeSync, constants, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { CoordError } from '../errors.js';
import { runGit } from '../git/run-git.js';
import { changedFiles } from '../worktrees/repository.js';
import { runSetupCommand, type CommandEnd } from './setup-command.js';
import { lockfileIds, readStamp, removeStamp, setupReason, stampFileOf, writeStamp, type LockfileIds, type SetupReason } from './setup-stamp.js';

export interface SetupRun {
  workerId: string;
  /** The worker's worktree (cwd of the commands). */
  worktree: string;
  /** The commands, run one after another (argv arrays, no shell). */
  commands: string[][];
  /** Extra environment over process.env (the pool's env). */
  env: Record<string, string>;
  /** The setup's log: every command's stdout+stderr, each under a header line; replaced at each run. */
  logFile: string;
  /** The repository's main checkout and the run's base commit: the base commit's lock files are part of the stamp. */
  repoRoot: string;
  baseCommit: string;
  /** The base commit's lock files, when the caller read them already (they are the same for every worker of a run). */
  lockfiles?: LockfileIds;
  /** Aborting kills the running command (its process group) and rejects with SETUP_FAILED "setup interrupted". */
  signal?: AbortSignal;
}

export interface SetupResult {
  ran: boolean;
  /** Why it ran, or null when it was skipped (the stamp still held). */
  reason: SetupReason | null;
  logFile: string;
  durationMs: number;
}

/** The log's last line after a setup that succeeded; its presence is how a rebuilt worktree is told from a new one. */
const COMPLETE_LINE = '# setup complete';

/** Files named in the message when a setup leaves files git does not ignore. */
const SHOWN_FILES = 5;

/** Variables that would point git (in a setup's `git` calls, or npm's) at another repository than the worktree. */
const REDIRECTING_GIT_VARS = ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_COMMON_DIR', 'GIT_OBJECT_DIRECTORY'];

/**
 * Runs the setup of `run.worktree` unless its stamp says it already ran for these commands
 * and lock files. Throws `SETUP_FAILED` when a command fails or cannot start, when the setup
 * leaves files git does not ignore, or when `run.signal` aborts; no stamp is left then, so
 * the next start runs it again.
 *
 * @example
 * const result = await ensureWorkerSetup({
 *   workerId: 'w1', worktree, commands: [['npm', 'ci']], env: {},
 *   logFile: path.join(stateDir, 'logs', 'setup', 'w1.log'), repoRoot: repo.root, baseCommit: repo.baseCommit,
 * });
 * if (result.ran) logger.info({ reason: result.reason, ms: result.durationMs }, 'worktree set up');
 */
export async function ensureWorkerSetup(run: SetupRun): Promise<SetupResult> {
  const started = Date.now();
  const stampFile = await stampFileOf(run.worktree);
  const lockfiles = run.lockfiles ?? (await lockfileIds(run.repoRoot, run.baseCommit));
  const stamp = await readStamp(stampFile);
  const reason = setupReason(stamp, run.commands, lockfiles, stamp === null && completedBefore(run.logFile));
  if (reason === null) return { ran: false, reason: null, logFile: run.logFile, durationMs: Date.now() - started };
  if (run.signal?.aborted) throw interrupted(run);

  // Forgotten before anything runs: a setup that fails, or a coord killed in the middle of
  // one, must not leave the stamp of an older success behind.
  await removeStamp(stampFile);
  await mkdir(path.dirname(run.logFile), { recursive: true });
  // O_APPEND: the commands write through the same descriptor, and every header lands after their output.
  const fd = openSync(run.logFile, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_APPEND);
  try {
    writeSync(fd, `# setup of ${run.workerId} in ${run.worktree} (${reason}), ${new Date(started).toISOString()}\n`);
    const env = commandEnv(run.env);
    for (const argv of run.commands) {
      writeSync(fd, `$ ${displayCommand(argv)}\n`);
      const commandStarted = Date.now();
      const end = await runSetupCommand({ argv, cwd: run.worktree, env, logFd: fd, ...(run.signal ? { signal: run.signal } : {}) });
      writeSync(fd, `# ${describeEnd(end)} after ${Date.now() - commandStarted} ms\n`);
      if (end.aborted) throw interrupted(run);
      if (end.spawnError !== null || end.exitCode !== 0) throw commandFailed(run, argv, end);
    }
    await refuseUntracked(run);
    writeSync(fd, `${COMPLETE_LINE} in ${Date.now() - started} ms\n`);
  } catch (error) {
    // The reason goes to the log too, but a log that cannot be written must not hide it.
    try {
      writeSync(fd, `# setup failed: ${error instanceof Error ? error.message : String(error)}\n`);
    } catch {
      // the error itself says what happened
    }
    throw error;
  } finally {
    closeSync(fd);
  }
  await writeStamp(stampFile, { commands: run.commands, lockfiles, at: new Date().toISOString() });
  return { ran: true, reason, logFile: run.logFile, durationMs: Date.now() - started };
}

/** `git status` in the worktree must be empty once the commands ran: whatever it lists is not ignored. */
async function refuseUntracked(run: SetupRun): Promise<void> {
  const status = await runGit(['status', '--porcelain', '-z', '--untracked-files=all'], { cwd: run.worktree });
  const files = changedFiles(status.stdout);
  if (files.length === 0) return;
  const shown = files.slice(0, SHOWN_FILES).join(', ') + (files.length > SHOWN_FILES ? ` and ${files.length - SHOWN_FILES} more` : '');
  throw new CoordError('SETUP_FAILED',
    `${run.workerId}: the setup left files git does not ignore (${shown}): add them to .gitignore (coord commits what a task leaves untracked and cleans files that are not ignored before each task); its log: ${run.logFile}`,
    { details: { workerId: run.workerId, files, logFile: run.logFile } });
}

/**
 * Whether the last setup in this log completed. Read from the log's end, before it is
 * replaced: the log is the one record of the worker's setup that outlives its worktree.
 */
function completedBefore(logFile: string): boolean {
  let fd: number;
  try {
    fd = openSync(logFile, 'r');
  } catch {
    return false;
  }
  try {
    const size = fstatSync(fd).size;
    const buffer = Buffer.alloc(Math.min(size, 256));
    const read = readSync(fd, buffer, 0, buffer.length, size - buffer.length);
    const lastLine = buffer.subarray(0, read).toString('utf8').trimEnd().split('\n').at(-1) ?? '';
    return lastLine.startsWith(COMPLETE_LINE);
  } finally {
    closeSync(fd);
  }
}

/** The pool's env over coord's own, without variables that would send git elsewhere. */
function commandEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of REDIRECTING_GIT_VARS) delete env[name];
  return { ...env, ...extra };
}

function commandFailed(run: SetupRun, argv: readonly string[], end: CommandEnd): CoordError {
  const command = displayCommand(argv);
  return new CoordError('SETUP_FAILED', `${run.workerId}: setup command "${command}" ${describeEnd(end)}; its log: ${run.logFile}`, {
    ...(end.spawnError ? { cause: end.spawnError } : {}),
    details: { workerId: run.workerId, command: [...argv], exitCode: end.exitCode, signal: end.signal, logFile: run.logFile },
  });
}

function interrupted(run: SetupRun): CoordError {
  return new CoordError('SETUP_FAILED', 'setup interrupted', { details: { workerId: run.workerId, logFile: run.logFile, interrupted: true } });
}

function describeEnd(end: CommandEnd): string {
  if (end.spawnError !== null) return `could not start (${end.spawnError.message})`;
  if (end.aborted) return 'was interrupted';
  if (end.signal !== null) return `was killed by ${end.signal}`;
  return `exited with code ${end.exitCode}`;
}

/** An argv as a reader would type it: words with spaces or shell characters in single quotes. */
export function displayCommand(argv: readonly string[]): string {
  return argv.map((word) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`)).join(' ');
}
