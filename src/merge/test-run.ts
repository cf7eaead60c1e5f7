/**
 * One run of the merge test: the configured argv (no shell) in the merge worktree, stdout and
 * stderr both into one log file (the same descriptor, so their lines stay in order), in a
 * process group of its own so that cancelling it (SIGTERM, then SIGKILL after a grace
 * period) and the clean-up after it reach everything the test started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { CoordError } from '../errors.js';
import { lastLines } from './test-log.js';

/** How long a cancelled test has between SIGTERM and SIGKILL. */
export const KILL_GRACE_MS = 5_000;

/** Bytes read back from the end of the log for the output tail. */
const TAIL_BYTES = 64 * 1024;

export interface TestRequest {
  argv: readonly string[];
  cwd: string;
  logFile: string;
  /** Written at the top of the log (not part of the output tail). */
  header: string;
  killGraceMs?: number;
}

export interface TestOutcome {
  /** Exit 0, and not cancelled. */
  passed: boolean;
  /** Stopped by {@link TestRun.cancel}: the result says nothing about the candidate. */
  cancelled: boolean;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  logFile: string;
  /** The last lines the test printed. */
  outputTail: string[];
}

export interface TestRun {
  /** Settles when the test has exited; rejects (CONFIG_INVALID) when it could not start. */
  readonly done: Promise<TestOutcome>;
  /** Stops the test: SIGTERM to its process group, SIGKILL after the grace period. */
  cancel(): void;
}

/** Environment variables that would point git inside the test somewhere else than its worktree. */
const REDIRECTING_GIT_VARS = ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_COMMON_DIR', 'GIT_OBJECT_DIRECTORY'];

/** Starts the test described by `request`. */
export function startTest(request: TestRequest): TestRun {
  const [program, ...args] = request.argv;
  const fd = openSync(request.logFile, 'w+');
  writeSync(fd, request.header);
  const outputStart = Buffer.byteLength(request.header);
  const env = { ...process.env };
  for (const name of REDIRECTING_GIT_VARS) delete env[name];
  let cancelled = false;
  let exited = false;
  let killTimer: NodeJS.Timeout | undefined;
  let child: ChildProcess | undefined;

  const done = new Promise<TestOutcome>((resolve, reject) => {
    const fail = (error: unknown): void => {
      closeQuietly(fd);
      reject(new CoordError('CONFIG_INVALID', `the merge test ${JSON.stringify(request.argv)} could not start: ${error instanceof Error ? error.message : String(error)}`, {
        cause: error,
        details: { argv: [...request.argv], cwd: request.cwd, logFile: request.logFile },
      }));
    };
    if (program === undefined || program === '') {
      fail(new Error('the command is empty'));
      return;
    }
    try {
      child = spawn(program, args, { cwd: request.cwd, stdio: ['ignore', fd, fd], detached: true, env });
    } catch (error) {
      fail(error);
      return;
    }
    child.once('error', (error) => {
      if (exited) return;
      exited = true;
      fail(error);
    });
    child.once('exit', (exitCode, signal) => {
      if (exited) return;
      exited = true;
      clearTimeout(killTimer);
      // Nothing the test started outlives it.
      signalGroup(child, 'SIGKILL');
      const outputTail = lastLines(readTail(fd, outputStart));
      closeQuietly(fd);
      resolve({ passed: exitCode === 0 && !cancelled, cancelled, exitCode, signal, logFile: request.logFile, outputTail });
    });
  });

  return {
    done,
    cancel(): void {
      if (exited || cancelled) return;
      cancelled = true;
      signalGroup(child, 'SIGTERM');
      killTimer = setTimeout(() => signalGroup(child, 'SIGKILL'), request.killGraceMs ?? KILL_GRACE_MS);
      killTimer.unref();
    },
  };
}

/** Sends `signal` to the child's process group (it leads one: `detached`); gone already is fine. */
function signalGroup(child: ChildProcess | undefined, signal: NodeJS.Signals): void {
  if (child?.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group has no process left
  }
}

/** The end of what was written to `fd` after `from`, at most {@link TAIL_BYTES}, starting at a line boundary. */
function readTail(fd: number, from: number): string {
  const size = fstatSync(fd).size;
  const start = Math.max(from, size - TAIL_BYTES);
  const buffer = Buffer.alloc(Math.max(0, size - start));
  const read = buffer.length === 0 ? 0 : readSync(fd, buffer, 0, buffer.length, start);
  const text = buffer.subarray(0, read).toString('utf8');
  if (start === from) return text;
  const firstBreak = text.indexOf('\n');
  return firstBreak === -1 ? text : text.slice(firstBreak + 1);
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}
