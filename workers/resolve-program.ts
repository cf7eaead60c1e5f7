/**
 * Finds the executable a task's argv names before it is spawned. node-pty cannot report a
 * missing program: on Linux it forks first and the child's `execvp` fails, so the caller
 * only sees a process that printed "execvp(3) failed.: No such file or directory" and
 * exited 1, which is indistinguishable from a program that ran and failed. Resolving the
 * program here turns that into a clear, non-retryable spawn error.
 */
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';

/** The outcome of looking up a program. */
export type ResolvedProgram =
  | { ok: true; path: string }
  | { ok: false; code: 'ENOENT' | 'EACCES'; message: string };

/**
 * Resolves `program` the way `execvp` would: a name containing `/` is a path (relative to
 * `cwd`); a bare name is searched in the directories of `pathEnv`.
 *
 * @example
 * await resolveProgram('git', '/repo', process.env.PATH); // { ok: true, path: '/usr/bin/git' }
 */
export async function resolveProgram(program: string, cwd: string, pathEnv: string | undefined): Promise<ResolvedProgram> {
  if (program === '') return { ok: false, code: 'ENOENT', message: 'empty program name' };
  if (program.includes('/')) {
    const candidate = path.resolve(cwd, program);
    const found = checkExecutable(candidate);
    if (found === 'ok') return { ok: true, path: candidate };
    return found === 'not-executable'
      ? { ok: false, code: 'EACCES', message: `${candidate} is not an executable file` }
      : { ok: false, code: 'ENOENT', message: `${candidate} does not exist` };
  }
  let sawNotExecutable: string | null = null;
  // Empty PATH entries mean "the current directory" to execvp; running whatever a task
  // left in its worktree under a bare name is a surprise nobody wants, so they are skipped.
  const dirs = (pathEnv ?? '').split(path.delimiter).filter((dir) => dir !== '');
  for (const dir of dirs) {
    const candidate = path.resolve(cwd, dir, program);
    const found = checkExecutable(candidate);
    if (found === 'ok') return { ok: true, path: candidate };
    if (found === 'not-executable') sawNotExecutable ??= candidate;
  }
  if (sawNotExecutable !== null) {
    return { ok: false, code: 'EACCES', message: `${sawNotExecutable} is not executable` };
  }
  return { ok: false, code: 'ENOENT', message: `${program}: command not found in PATH` };
}

// Synchronous on purpose: a stat answers in microseconds, while each awaited one waits for a
// thread of libuv's pool (0.2 ms and more on a loaded machine, once per PATH entry).
function checkExecutable(file: string): 'ok' | 'missing' | 'not-executable' {
  try {
    const info = statSync(file);
    if (!info.isFile()) return 'not-executable';
    accessSync(file, constants.X_OK);
    return 'ok';
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return code === 'EACCES' || code === 'EPERM' ? 'not-executable' : 'missing';
  }
}
