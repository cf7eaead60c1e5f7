/**
 * Commits coord makes itself (merges of dependency branches, a task's leftover changes)
 * need an author. A repository's own identity wins; coord only fills the gap when none is
 * configured, so users' commits are never re-attributed.
 */
import { runGit } from './run-git.js';

const FALLBACK = { name: 'coord', email: 'coord@localhost' };

/** Environment variables that give git an identity when `cwd`'s config has none. */
export async function identityEnv(cwd: string): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  const name = await runGit(['config', 'user.name'], { cwd, okExitCodes: [0, 1] });
  const email = await runGit(['config', 'user.email'], { cwd, okExitCodes: [0, 1] });
  if (name.stdout.trim() === '' && !process.env.GIT_AUTHOR_NAME) {
    env.GIT_AUTHOR_NAME = FALLBACK.name;
    env.GIT_COMMITTER_NAME = FALLBACK.name;
  }
  if (email.stdout.trim() === '' && !process.env.GIT_AUTHOR_EMAIL) {
    env.GIT_AUTHOR_EMAIL = FALLBACK.email;
    env.GIT_COMMITTER_EMAIL = FALLBACK.email;
  }
  return env;
}
