/**
 * `coord daemon start --detach`: the same command again, without `--detach`, as a process
 * of its own session (so closing the terminal does not end it), its stdout and stderr in
 * `<state-dir>/logs/daemon.out`. Resolves once its socket answers a status in `running`, or
 * fails with what it printed when it exits first.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { CoordError, isCoordErrorCode } from '../errors.js';
import type { DaemonStatus } from './control-api.js';
import { connectControl } from './socket-client.js';

export interface DetachedStart {
  /** The script to run (`supervisor.js`), and its arguments for a foreground start. */
  script: string;
  args: string[];
  cwd: string;
  socket: string;
  out: string;
  /** How long the daemon may take to be running (a first start prepares every worktree). */
  timeoutMs?: number;
}

/** Starts the detached daemon and resolves with its status once it runs. */
export async function startDetached(start: DetachedStart): Promise<DaemonStatus> {
  mkdirSync(path.dirname(start.out), { recursive: true });
  const from = sizeOf(start.out);
  const fd = openSync(start.out, 'a');
  const child = spawn(process.execPath, [start.script, ...start.args], {
    cwd: start.cwd, detached: true, stdio: ['ignore', fd, fd], env: process.env,
  });
  closeSync(fd);
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + (start.timeoutMs ?? 120_000);
  try {
    while (!gone) {
      const status = await runningStatus(start.socket);
      if (status && status.pid === child.pid) return status;
      if (Date.now() > deadline) {
        child.kill('SIGTERM');
        throw new CoordError('INTERNAL', `the daemon (pid ${child.pid}) did not start within ${Math.round((start.timeoutMs ?? 120_000) / 1000)} s; see ${start.out}`);
      }
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 100))]);
    }
    const { code, signal } = await exited;
    const said = readFileSync(start.out, 'utf8').slice(from).trim();
    const coded = /coord: ([A-Z_]+): /.exec(said)?.[1];
    const message = said.replace(/^coord: [A-Z_]+: /, '') || `the daemon exited with ${signal ?? `code ${code}`} before it was running`;
    throw new CoordError(coded && isCoordErrorCode(coded) ? coded : 'INTERNAL', message, { details: { exitCode: code, signal, out: start.out } });
  } finally {
    child.unref();
  }
}

/** The daemon's status when it answers and is running, else null. */
async function runningStatus(socket: string): Promise<DaemonStatus | null> {
  let client;
  try {
    client = await connectControl(socket);
  } catch {
    return null;
  }
  try {
    const status = await client.request<DaemonStatus>('status');
    return status.state === 'running' ? status : null;
  } catch {
    return null;
  } finally {
    client.close();
  }
}

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}
