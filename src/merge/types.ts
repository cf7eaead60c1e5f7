/**
 * The merge queue's vocabulary: its settings, what is queued (a task's finished branch at a
 * commit), and the state each queued task is in. Shared by the queue and its parts so that
 * none of them has to import the queue itself.
 */

/** How the queue merges: onto which branch, gated by which test, how many at once, how. */
export interface MergeSettings {
  /** The branch merged into (`main`): only ever advanced to a tested candidate. */
  target: string;
  /** The test command as argv (no shell), run in the merge worktree; exit 0 = pass. Empty: no test. */
  test: readonly string[];
  /** Most entries tested together in one candidate (≥ 1). */
  batch: number;
  /** `merge`: a two-parent merge commit per entry; `squash`: one single-parent commit per entry. */
  mode: 'merge' | 'squash';
}

/** One task's work, offered for merging. */
export interface MergeEntry {
  taskId: string;
  branch: string;
  commit: string;
  /** Task ids whose entries must merge first. */
  deps: readonly string[];
}

export type MergeStatus = 'pending' | 'merged' | 'conflict' | 'test-failed';

/** The codes a merge state can carry (all three exist in `COORD_ERROR_CODES`). */
export type MergeErrorCode = 'MERGE_TARGET_DIRTY' | 'MERGE_CONFLICT' | 'MERGE_TEST_FAILED';

/** Where one entry stands. */
export interface MergeState {
  status: MergeStatus;
  /** merged: the target commit that brought it in; else null. */
  commit: string | null;
  /** The test log of the (last) run that decided it. */
  logFile: string | null;
  /** conflict: the conflicting files. */
  files?: string[];
  error?: { code: MergeErrorCode; message: string };
  /** test-failed: the last ≤ 40 lines the test printed. */
  outputTail?: string[];
  at: number;
}
