/**
 * Runs one argv in a pseudo-terminal (node-pty), so agent CLIs that insist on a TTY behave
 * as they would for a person. Termination is data: the promise always resolves, with one
 * `terminationReason` set once (`??=`) by whichever of exit, timeout, cancellation or spawn
 * failure happened first. Stopping is graceful then forced: SIGTERM to the whole process
 * group, SIGKILL after `killGraceMs`; and whatever is left in the group when the leader
 * exits (a backgrounded `sleep`, a dev server) is killed too. Then the attempt's
 * containment ends what left the group (a double-forked `setsid` daemon): its cgroup and
 * every process carrying its marker. No task process outlives its task.
 */
import { constants } from 'node:os';
import { performance } from 'node:perf_hooks';
import { spawn, type IPty } from 'node-pty';
import type { Logger } from './log.js';
import type { ProcessGroups } from './process-group.js';
import { resolveProgram } from './resolve-program.js';
import { reapedAnything } from '../src/procs/reap.js';
import type { AttemptContainment } from './task-containment.js';
import { openTaskLog, type TaskLog } from './task-log.js';
import { OutputTail } from './output-tail.js';
import { createQuietWatch } from './quiet-watch.js';
import { createThrottle } from './throttle.js';
import { gracefulSignalOf } from './cancel-reason.js';

/** Why a PTY run ended. */
export type PtyTerminationReason = 'exit' | 'timeout' | 'cancel' | 'spawn-error';

/** What one PTY run came to. */
export interface PtyRunResult {
  terminationReason: PtyTerminationReason;
  /** Exit status when the process exited by itself; null when a signal ended it. */
  exitCode: number | null;
  /** The signal that ended the process (e.g. `SIGTERM`), or null. */
  signal: string | null;
  timedOut: boolean;
  cancelled: boolean;
  durationMs: number;
  outputBytes: number;
  /** The spawned leader's pid; null when nothing was spawned. */
  pid: number | null;
  spawnError: { code: string; message: string } | null;
  /** The last lines the task printed (cleaned of terminal escapes), oldest first. */
  outputTail: string[];
}

/** Everything {@link runPty} needs. */
export interface RunPtyOptions {
  argv: readonly string[];
  cwd: string;
  env: Record<string, string>;
  logFile: string;
  /** Cap on the task output kept in the log (head and tail; coord's own lines are extra). */
  maxLogBytes: number;
  /** First line(s) written to the log file. */
  header: string;
  timeoutMs: number | null;
  killGraceMs: number;
  signal: AbortSignal;
  groups: ProcessGroups;
  /** The attempt's cgroup and marker: how its processes outside the group are found. */
  containment: AttemptContainment;
  logger: Logger;
  /** Called once, right after the process was spawned. */
  onSpawn: (pid: number) => void;
  /** Called with the running output byte count, at most every `progressIntervalMs`. */
  onProgress: (outputBytes: number) => void;
  /** Silence this long while running is reported once per silence (null: never). */
  quietAfterMs?: number | null;
  /** The task printed nothing for `quietMs`; `lastLine` is the last thing it printed. */
  onQuiet?: (quietMs: number, lastLine: string | null) => void;
  progressIntervalMs?: number;
  /** Every chunk of output as it comes (an agent's parser reads it). */
  onOutput?: (data: string) => void;
  /** Called once the process runs, with a way to type into its terminal (an interactive agent's session). */
  onTerminal?: (write: (data: string) => void) => void;
}

/** The longest delay setTimeout honours. */
export const MAX_TIMER_MS = 2_147_483_647;

const signalNames = new Map<number, string>(Object.entries(constants.signals).map(([name, num]) => [num, name]));

/**
 * Runs `argv` in a PTY with cwd `cwd`, appending its output to `logFile`.
 *
 * @example
 * const result = await runPty({ argv: ['npm', 'test'], cwd: worktree, env, logFile, maxLogBytes: 52_428_800, header: '', timeoutMs: 60_000,
 *   killGraceMs: 5_000, signal, groups, logger, onSpawn: () => {}, onProgress: () => {} });
 */
export async function runPty(options: RunPtyOptions): Promise<PtyRunResult> {
  const startedAt = performance.now();
  const log = await openTaskLog(options.logFile, options.maxLogBytes, options.logger);
  log.note(options.header);
  const [program = '', ...args] = options.argv;
  const notStarted = async (reason: PtyTerminationReason, spawnError: PtyRunResult['spawnError']): Promise<PtyRunResult> => {
    log.note(`[coord] not started: ${spawnError?.message ?? 'cancelled before start'}\n`);
    await log.close();
    const durationMs = performance.now() - startedAt;
    return { terminationReason: reason, exitCode: null, signal: null, timedOut: false, cancelled: reason === 'cancel',
      durationMs, outputBytes: 0, pid: null, spawnError, outputTail: [] };
  };

  const resolved = await resolveProgram(program, options.cwd, options.env.PATH);
  if (!resolved.ok) return notStarted('spawn-error', { code: resolved.code, message: resolved.message });
  if (options.signal.aborted) return notStarted('cancel', null);

  let pty: IPty;
  try {
    const target = options.containment.wrap({ file: resolved.path, args });
    pty = spawn(target.file, target.args, { name: 'xterm-256color', cols: 160, rows: 48, cwd: options.cwd, env: options.env });
  } catch (error) {
    await options.containment.reap(); // removes the cgroup made for it
    const code = typeof (error as { code?: unknown }).code === 'string' ? (error as { code: string }).code : 'ESPAWN';
    return notStarted('spawn-error', { code, message: error instanceof Error ? error.message : String(error) });
  }
  const pid = pty.pid;
  options.groups.track(pid);
  options.onSpawn(pid);
  options.onTerminal?.((data) => pty.write(data));
  return watch(pty, pid, options, startedAt, log);
}

function watch(
  pty: IPty,
  pid: number,
  options: RunPtyOptions,
  startedAt: number,
  log: TaskLog,
): Promise<PtyRunResult> {
  return new Promise((resolve) => {
    let terminationReason: PtyTerminationReason | undefined;
    let outputBytes = 0;
    const tail = new OutputTail();
    let killTimer: NodeJS.Timeout | undefined;
    const progress = createThrottle(options.progressIntervalMs ?? 500, options.onProgress);

    const stop = (why: 'timeout' | 'cancel'): void => {
      if (terminationReason !== undefined) return; // already exited or already stopping
      terminationReason ??= why;
      const first = why === 'cancel' ? gracefulSignalOf(options.signal) : 'SIGTERM';
      log.note(`\n[coord] ${why === 'timeout' ? `timed out after ${options.timeoutMs} ms` : 'cancelled'}; sending ${first}\n`);
      options.groups.signal(pid, first);
      killTimer = setTimeout(() => {
        log.note(`\n[coord] still running after ${options.killGraceMs} ms; sending SIGKILL\n`);
        options.groups.signal(pid, 'SIGKILL');
      }, options.killGraceMs);
    };
    // setTimeout treats anything over 2^31-1 ms as 1 ms; a 30-day limit must not fire at once.
    const timeoutTimer = options.timeoutMs === null ? undefined
      : setTimeout(() => stop('timeout'), Math.min(options.timeoutMs, MAX_TIMER_MS));
    const onAbort = (): void => stop('cancel');
    options.signal.addEventListener('abort', onAbort, { once: true });

    const quiet = createQuietWatch(options.quietAfterMs ?? null, (ms) => options.onQuiet?.(ms, tail.lines(1)[0] ?? null));
    pty.onData((data) => {
      quiet.heard();
      outputBytes += Buffer.byteLength(data);
      tail.push(data);
      log.write(data);
      progress.push(outputBytes);
      options.onOutput?.(data);
    });
    pty.onExit(({ exitCode, signal }) => {
      quiet.stop();
      clearTimeout(timeoutTimer);
      clearTimeout(killTimer);
      options.signal.removeEventListener('abort', onAbort);
      // The leader is gone but members of its group may not be (a backgrounded child,
      // a daemon that ignored SIGHUP). The pgid cannot be reused while any member lives,
      // so this can only hit our own leftovers.
      options.groups.signal(pid, 'SIGKILL');
      options.groups.release(pid);
      const reaped = options.containment.reap();
      progress.flush();
      terminationReason ??= 'exit';
      // node-pty reports a signalled process as exitCode 0 plus a signal number.
      const signalName = signal !== undefined && signal !== 0 ? (signalNames.get(signal) ?? `SIG${signal}`) : null;
      const result: PtyRunResult = {
        terminationReason,
        exitCode: signalName === null ? exitCode : null,
        signal: signalName,
        timedOut: terminationReason === 'timeout',
        cancelled: terminationReason === 'cancel',
        durationMs: performance.now() - startedAt,
        outputBytes,
        pid,
        spawnError: null,
        outputTail: tail.lines(),
      };
      // The attempt ends only once its leftovers are dead, so a retry never meets them. Both
      // lines are coord's own (notes: never capped away), and `ended:` stays the last one.
      void reaped.then((reap) => {
        if (reap !== null && reapedAnything(reap)) {
          const pids = [...new Set([...reap.cgroupPids, ...reap.sweep.killed])];
          log.note(`\n[coord] killed ${pids.length} leftover process(es) of the task outside its process group: ${pids.join(' ')}`);
        }
        log.note(`\n[coord] ended: reason=${result.terminationReason} exitCode=${result.exitCode} signal=${result.signal} `
          + `durationMs=${Math.round(result.durationMs)}\n`);
        return log.close();
      }).then(() => resolve(result));
    });
  });
}
