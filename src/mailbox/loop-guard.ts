/**
 * Loop safeguards, pure: a turn is one agent result. A task whose agent makes no progress
 * (no new commit on its branch) for `maxNoProgressTurns` turns in a row, or gives the same
 * finding (its final message, normalised) for `maxRepeatedFindings` turns in a row without
 * progress, is going round in circles: the caller blocks it with `LOOP_NO_PROGRESS` /
 * `LOOP_REPEATED_FINDING` until an operator overrides with a reason.
 */
import type { CoordErrorCode } from '../errors.js';
import { cleanPayload } from '../agents/payload.js';
import type { LoopState } from './types.js';

export interface LoopLimits {
  /** Turns in a row without a new commit before the task is blocked (default 20). */
  maxNoProgressTurns: number;
  /** Turns in a row with the same finding and no new commit before the task is blocked (default 3). */
  maxRepeatedFindings: number;
}

export const DEFAULT_LOOP_LIMITS: LoopLimits = { maxNoProgressTurns: 20, maxRepeatedFindings: 3 };

/** What one turn produced. */
export interface Turn {
  /** The task's branch tip after the turn. */
  commit: string | null;
  /** The agent's final message. */
  finding: string | null;
}

export interface LoopVerdict {
  state: LoopState;
  /** Set when the task must be blocked. */
  block: { code: Extract<CoordErrorCode, 'LOOP_NO_PROGRESS' | 'LOOP_REPEATED_FINDING'>; message: string } | null;
}

/**
 * A finding as compared: escapes removed, case folded, whitespace collapsed, and what varies
 * between otherwise identical answers (numbers, hex ids) masked. null for no finding.
 */
export function normalizeFinding(text: string | null): string | null {
  if (text === null) return null;
  const normal = cleanPayload(text)
    .toLowerCase()
    .replace(/\b[0-9a-f]{7,40}\b/g, '#')
    .replace(/\d+/g, '0')
    .replace(/\s+/g, ' ')
    .replace(/[\s.!]+$/, '')
    .trim();
  return normal === '' ? null : normal.slice(0, 2_000);
}

/** The loop state after `turn`, and whether the task must be blocked. Pure. */
export function judgeTurn(state: LoopState, turn: Turn, limits: LoopLimits = DEFAULT_LOOP_LIMITS): LoopVerdict {
  const progress = turn.commit !== null && turn.commit !== state.lastCommit;
  const finding = normalizeFinding(turn.finding);
  const noProgress = progress ? 0 : state.noProgress + 1;
  const repeated = finding === null || progress ? 0 : finding === state.lastFinding ? state.repeated + 1 : 1;
  const next: LoopState = { turns: state.turns + 1, noProgress, repeated, lastFinding: finding, lastCommit: turn.commit ?? state.lastCommit };
  if (repeated >= limits.maxRepeatedFindings) {
    return { state: next, block: { code: 'LOOP_REPEATED_FINDING', message: `the agent gave the same finding ${repeated} turns in a row without a new commit: "${(turn.finding ?? '').trim().slice(0, 200)}"` } };
  }
  if (noProgress >= limits.maxNoProgressTurns) {
    return { state: next, block: { code: 'LOOP_NO_PROGRESS', message: `${noProgress} turns in a row without a new commit` } };
  }
  return { state: next, block: null };
}
