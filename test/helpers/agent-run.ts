/**
 * Runs a real agent CLI (Claude Code, Codex) against a local emulator in a scratch place: a
 * temporary git repository as its cwd and a scratch HOME, with an environment that holds
 * nothing of this machine's but PATH, so no login or config of the person running the tests
 * leaks in. Through pipes ({@link runAgent}) or a PTY, as coord runs agents ({@link runAgentInPty}).
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { constants } from 'node:os';
import path from 'node:path';
import { spawn as spawnPty } from 'node-pty';
import { makeRepo, type TempRepo } from './git-repo.js';

/**
 * A repository to work in, a HOME and a TMPDIR beside it (all removed by `cleanup`). Claude
 * Code honours TMPDIR: without it, it leaves `/tmp/claude-<uid>/` folders behind.
 */
export interface AgentPlace extends TempRepo {
  home: string;
  tmp: string;
}

export function makeAgentPlace(): AgentPlace {
  const repo = makeRepo();
  const home = path.join(repo.dir, 'home');
  const tmp = path.join(repo.dir, 'tmp');
  mkdirSync(home);
  mkdirSync(tmp);
  return { ...repo, home, tmp };
}

export interface AgentRun {
  code: number | null;
  signal: string | null;
  /** Stdout's lines (for a PTY: everything it showed), without their line endings. */
  lines: string[];
  stdout: string;
  stderr: string;
}

export interface AgentRunOptions {
  /** Added to the minimal environment (PATH, HOME, TMPDIR, and for a PTY TERM). */
  env?: Record<string, string>;
  /** A safety net only: a run still going after this is killed (the test then fails on its exit). */
  killAfterMs?: number;
}

function baseEnv(place: AgentPlace, options: AgentRunOptions): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: place.home, TMPDIR: place.tmp, ...options.env };
}

/** Runs `binary args…` in `place` (its repo as cwd) with pipes, to its end. */
export function runAgent(binary: string, args: readonly string[], place: AgentPlace, options: AgentRunOptions = {}): Promise<AgentRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { cwd: place.repo, env: baseEnv(place, options), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const guard = setTimeout(() => child.kill('SIGKILL'), options.killAfterMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, lines: stdout.split('\n').filter((l) => l !== ''), stdout, stderr });
    });
  });
}

/** Runs `binary args…` in a PTY (80×24, TERM=xterm-256color) to its end; stderr comes through the PTY too. */
export function runAgentInPty(binary: string, args: readonly string[], place: AgentPlace, options: AgentRunOptions = {}): Promise<AgentRun> {
  return new Promise((resolve) => {
    const pty = spawnPty(binary, [...args], { cwd: place.repo, env: { TERM: 'xterm-256color', ...baseEnv(place, options) }, cols: 80, rows: 24, name: 'xterm-256color' });
    let output = '';
    pty.onData((data) => (output += data));
    const guard = setTimeout(() => pty.kill('SIGKILL'), options.killAfterMs ?? 60_000);
    pty.onExit(({ exitCode, signal }) => {
      clearTimeout(guard);
      // node-pty reports a signalled process as exitCode 0 plus a signal number.
      const name = signal === undefined || signal === 0 ? null : Object.entries(constants.signals).find(([, n]) => n === signal)?.[0] ?? `SIG${signal}`;
      resolve({ code: name === null ? exitCode : null, signal: name, lines: output.split('\n').filter((l) => l !== ''), stdout: output, stderr: '' });
    });
  });
}
