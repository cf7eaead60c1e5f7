/**
 * `coord clean [--branches] [--worktrees] [--state] [--yes]`: removes what coord made for a
 * repository — its `coord/*` branches, its worker worktrees, its state directory (store,
 * logs) — all three unless some are named. It lists what it will remove first, asks unless
 * `--yes`, and refuses while a supervisor runs on that state.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import { CoordError } from '../errors.js';
import { gitOutput, runGit } from '../git/run-git.js';
import { plural } from '../plural.js';
import { existingTaskBranches } from '../worktrees/repository.js';
import { defaultWorktreeRoot } from '../worktrees/worktrees.js';
import { locateState, refuseWhileRunning, type StateFlags } from './state.js';
import { processOut, type Out } from './store-commands.js';

export interface CleanFlags extends StateFlags {
  worktreeRoot?: string | undefined;
  branches?: boolean | undefined;
  worktrees?: boolean | undefined;
  state?: boolean | undefined;
  yes?: boolean | undefined;
}

/** What a clean would remove. */
export interface CleanPlan {
  repoRoot: string;
  branches: string[];
  worktrees: string[];
  worktreeRoot: string | null;
  stateDir: string | null;
}

/** Works out what to remove (nothing is touched). */
export async function planClean(flags: CleanFlags): Promise<CleanPlan> {
  const location = await locateState(flags);
  const repo = location.repo;
  if (!repo) throw new CoordError('REPO_NOT_FOUND', 'coord clean works on a repository: run it inside one or pass --repo');
  const all = !flags.branches && !flags.worktrees && !flags.state;
  refuseWhileRunning(location.stateDir, 'coord clean');
  const root = path.resolve(flags.worktreeRoot ?? defaultWorktreeRoot(repo));
  const registered = (await gitOutput(['worktree', 'list', '--porcelain'], { cwd: repo.root }))
    .split('\n').filter((line) => line.startsWith('worktree ')).map((line) => line.slice('worktree '.length));
  return {
    repoRoot: repo.root,
    branches: all || flags.branches ? [...(await existingTaskBranches(repo))].sort() : [],
    worktrees: all || flags.worktrees ? registered.filter((tree) => tree.startsWith(`${root}${path.sep}`)) : [],
    worktreeRoot: (all || flags.worktrees) && existsSync(root) ? root : null,
    stateDir: (all || flags.state) && existsSync(location.stateDir) ? location.stateDir : null,
  };
}

/** Runs `coord clean`; resolves with the exit code. */
export async function cleanCommand(flags: CleanFlags, io: Out = processOut): Promise<number> {
  const plan = await planClean(flags);
  const listing = [
    ...(plan.branches.length > 0 ? [`${plural(plan.branches.length, 'branch', 'branches')}: ${plan.branches.join(', ')}`] : []),
    ...(plan.worktrees.length > 0 ? [`${plural(plan.worktrees.length, 'worktree')}: ${plan.worktrees.join(', ')}`] : []),
    ...(plan.stateDir !== null ? [`the state directory ${plan.stateDir} (store, logs)`] : []),
  ];
  if (listing.length === 0 && plan.worktreeRoot === null) {
    io.out('nothing to clean\n');
    return 0;
  }
  io.out(`coord clean in ${plan.repoRoot} removes:\n${listing.map((line) => `  ${line}`).join('\n') || '  (nothing but empty folders)'}\n`);
  if (!flags.yes && !(await confirm('remove them? [y/N] '))) {
    io.out('nothing removed\n');
    return 1;
  }
  await applyClean(plan);
  io.out('removed\n');
  return 0;
}

/** Removes what the plan lists: worktrees first (a branch checked out in one cannot be deleted), then branches, then state. */
export async function applyClean(plan: CleanPlan): Promise<void> {
  for (const tree of plan.worktrees) {
    await runGit(['worktree', 'unlock', tree], { cwd: plan.repoRoot, okExitCodes: [0, 128] });
    await runGit(['worktree', 'remove', '--force', '--force', tree], { cwd: plan.repoRoot });
  }
  if (plan.worktreeRoot !== null) {
    await rm(plan.worktreeRoot, { recursive: true, force: true });
    await runGit(['worktree', 'prune'], { cwd: plan.repoRoot });
  }
  if (plan.branches.length > 0) await runGit(['branch', '-D', ...plan.branches], { cwd: plan.repoRoot });
  if (plan.stateDir !== null) await rm(plan.stateDir, { recursive: true, force: true });
}

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) {
    throw new CoordError('USAGE', 'coord clean asks before removing anything; with no terminal to ask on, pass --yes');
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}
