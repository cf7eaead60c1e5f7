/**
 * The one place coord runs git. Every failure becomes a {@link CoordError} with code
 * `GIT_FAILED` (or the code the caller names) carrying the command, exit code and stderr.
 */
import { execFile } from 'node:child_process';
import { CoordError, type CoordErrorCode } from '../errors.js';
import { GitShell } from './git-shell.js';

export interface GitResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface GitOptions {
  cwd: string;
  /** Exit codes that are answers rather than failures (e.g. 1 from `merge-tree` = conflicts). */
  okExitCodes?: readonly number[];
  env?: NodeJS.ProcessEnv;
  input?: string;
  /** Code of the error thrown on failure. */
  errorCode?: CoordErrorCode;
}

// Git must never stop to ask a question, open an editor or page its output.
const quietEnv: NodeJS.ProcessEnv = {
  GIT_TERMINAL_PROMPT: '0',
  GIT_EDITOR: 'true',
  GIT_PAGER: 'cat',
  LC_ALL: 'C',
};

/** The shell this process runs git through, once {@link runGitThroughShell} installed one. */
let shell: GitShell | null = null;

/**
 * Runs every later git command of this process through one long-lived shell (see
 * git-shell.ts): for a process that runs git around every task (a worker). A command with
 * `input` still forks git directly.
 */
export function runGitThroughShell(): void {
  shell ??= new GitShell();
}

/** The error a failed command rejects with. */
function gitFailed(args: readonly string[], options: GitOptions, exitCode: number, stderr: string, cause?: unknown): CoordError {
  const detail = stderr.trim() || (cause instanceof Error ? cause.message : '');
  return new CoordError(options.errorCode ?? 'GIT_FAILED', `git ${args.join(' ')} failed (exit ${exitCode}): ${detail}`, {
    cause,
    details: { args: [...args], cwd: options.cwd, exitCode, stderr: stderr.trim() },
  });
}

/** Runs `git args...` in `cwd` and resolves with its output, or rejects with a coded error. */
export function runGit(args: readonly string[], options: GitOptions): Promise<GitResult> {
  const ok = options.okExitCodes ?? [0];
  if (shell !== null && options.input === undefined) {
    return shell.run(args, { cwd: options.cwd, env: { ...quietEnv, ...options.env } }).then((result) => {
      if (ok.includes(result.exitCode)) return result;
      throw gitFailed(args, options, result.exitCode, result.stderr);
    });
  }
  return new Promise((resolve, reject) => {
    const child = execFile(
      'git',
      args,
      { cwd: options.cwd, env: { ...process.env, ...quietEnv, ...options.env }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const exitCode = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        if (ok.includes(exitCode)) {
          resolve({ stdout, stderr, exitCode });
          return;
        }
        reject(gitFailed(args, options, exitCode, stderr, error));
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** Runs git and returns its trimmed stdout. */
export async function gitOutput(args: readonly string[], options: GitOptions): Promise<string> {
  return (await runGit(args, options)).stdout.trim();
}
