/**
 * The merge target: reading its tip, and advancing it to a tested candidate without ever
 * overwriting anyone's work. Not checked out anywhere: a compare-and-swap `update-ref`. Checked
 * out in a worktree (the user's checkout, typically): a fast-forward of that worktree, so its
 * files follow the branch, and only when it has no local changes to tracked files.
 */
import { CoordError, isCoordError } from '../errors.js';
import { gitOutput, runGit } from '../git/run-git.js';

/** The target branch's ref, `refs/heads/<target>`. */
export function targetRef(target: string): string {
  return `refs/heads/${target}`;
}

/** The commit the target branch points at. */
export async function readTip(repoRoot: string, target: string): Promise<string> {
  const result = await runGit(['rev-parse', '--verify', '--quiet', `${targetRef(target)}^{commit}`], { cwd: repoRoot, okExitCodes: [0, 1] });
  const tip = result.stdout.trim();
  if (result.exitCode !== 0 || tip === '') {
    throw new CoordError('GIT_FAILED', `the merge target ${targetRef(target)} does not exist in ${repoRoot}`, { details: { repoRoot, target } });
  }
  return tip;
}

/**
 * The worktree that has `ref` checked out, from `git worktree list --porcelain` output
 * (blocks of `worktree <path>`, `HEAD <sha>`, `branch <ref>` | `detached`, blank-line
 * separated); null when none has. A worktree whose folder is gone (`prunable`) does not count.
 */
export function checkoutOf(porcelain: string, ref: string): string | null {
  for (const block of porcelain.split(/\n\s*\n/)) {
    const lines = block.split('\n');
    const worktree = lines.find((line) => line.startsWith('worktree '))?.slice('worktree '.length);
    if (worktree === undefined || lines.some((line) => line === 'prunable' || line.startsWith('prunable '))) continue;
    if (lines.includes(`branch ${ref}`)) return worktree;
  }
  return null;
}

/** The worktree of `repoRoot`'s repository that has the target checked out, or null. */
export async function findCheckout(repoRoot: string, target: string): Promise<string | null> {
  return checkoutOf(await gitOutput(['worktree', 'list', '--porcelain'], { cwd: repoRoot }), targetRef(target));
}

/** The changed tracked files in `git status --porcelain` output (`XY path` lines). */
export function changedFiles(porcelain: string): string[] {
  return porcelain.split('\n').filter((line) => line.trim() !== '').map((line) => line.slice(3));
}

/** How an attempt to advance the target ended. */
export type Advance =
  /** The target now points at the candidate. */
  | { kind: 'advanced'; tip: string }
  /** Someone else moved the target since the candidate was built on it: nothing was written. */
  | { kind: 'moved'; tip: string }
  /** The target is checked out in `worktree` with local changes that a fast-forward would step on. */
  | { kind: 'dirty'; worktree: string; message: string };

export interface AdvanceRequest {
  repoRoot: string;
  target: string;
  /** The tip the candidate was built on. */
  from: string;
  /** The tested candidate. */
  to: string;
  /** What the reflog says about the move. */
  reason: string;
  /** Identity for git (see `identityEnv`). */
  env: Record<string, string>;
}

/** Moves the target from `from` to `to`, or says why not; never overwrites a move it did not expect. */
export async function advanceTarget(request: AdvanceRequest): Promise<Advance> {
  const checkout = await findCheckout(request.repoRoot, request.target);
  return checkout === null ? swapRef(request) : fastForward(request, checkout);
}

/** Compare-and-swap of the ref itself: `update-ref <ref> <to> <from>`. */
async function swapRef(request: AdvanceRequest): Promise<Advance> {
  const { repoRoot, target, from, to } = request;
  try {
    await runGit(['update-ref', '-m', request.reason, targetRef(target), to, from], { cwd: repoRoot, env: request.env });
    return { kind: 'advanced', tip: to };
  } catch (error) {
    const moved = await movedTip(request);
    if (moved === null) throw error;
    return { kind: 'moved', tip: moved };
  }
}

/** A fast-forward of the worktree that has the target checked out, when it is clean and still at `from`. */
async function fastForward(request: AdvanceRequest, worktree: string): Promise<Advance> {
  const { target, from, to } = request;
  const status = (await runGit(['status', '--porcelain', '--untracked-files=no'], { cwd: worktree })).stdout;
  if (status.trim() !== '') {
    const files = changedFiles(status);
    const shown = files.slice(0, 5).join(', ') + (files.length > 5 ? `, and ${files.length - 5} more` : '');
    return { kind: 'dirty', worktree, message: `${target} is checked out in ${worktree} with local changes (${shown}); commit or stash them, then retry the merge queue` };
  }
  const tip = await readTip(request.repoRoot, target);
  if (tip !== from) return { kind: 'moved', tip };
  try {
    await runGit(['merge', '--ff-only', '--quiet', to], { cwd: worktree, env: { ...request.env, GIT_REFLOG_ACTION: request.reason } });
    return { kind: 'advanced', tip: to };
  } catch (error) {
    const moved = await movedTip(request);
    if (moved !== null) return { kind: 'moved', tip: moved };
    // Still at `from` and clean, yet git refused: untracked files in the way of the candidate's.
    const detail = isCoordError(error) ? String(error.details.stderr ?? error.message) : String(error);
    return { kind: 'dirty', worktree, message: `${target} is checked out in ${worktree} and cannot be fast-forwarded: ${detail}; clean it up, then retry the merge queue` };
  }
}

/** After a refused write: the target's tip when it is no longer at `from`, else null. */
async function movedTip(request: AdvanceRequest): Promise<string | null> {
  const tip = await readTip(request.repoRoot, request.target);
  return tip === request.from ? null : tip;
}
