/**
 * Runs the built CLI (`node supervisor.js ...`) as a real process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FAKE_AGENT = path.join(ROOT, 'test', 'fixtures', 'fake-agent.mjs');

export interface CliRun {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Where the CLI runs: its working directory, and variables added to this process's environment. */
export interface CliOptions {
  cwd?: string;
  env?: Record<string, string>;
}

/** Starts `node supervisor.js ...args`. */
export function startCli(args: string[], options: CliOptions = {}): CliRun {
  const child = spawn(process.execPath, [path.join(ROOT, 'supervisor.js'), ...args], {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, stdout: () => out, stderr: () => err, exit };
}

/** Runs the CLI to the end. */
export async function runCli(args: string[], options: CliOptions = {}) {
  const run = startCli(args, options);
  const { code } = await run.exit;
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

/** The fake agent as an argv: `node fake-agent.mjs ...args`. */
export function fakeAgent(...args: string[]): string[] {
  return [process.execPath, FAKE_AGENT, ...args];
}
