/**
 * An agent's liveness, judged by evidence rather than by a heartbeat: what it said (its last
 * output byte, its last structured event) and what it did (CPU its processes used, files it
 * changed in its worktree). `progressing` while it speaks; `quiet` while it is silent but
 * may be working or waiting on its provider; `stalled` only when two kinds of evidence agree
 * — silent and idle alike — for `stallAfterMs`. Pure: times are passed in.
 */

export const LIVENESS_STATES = ['progressing', 'quiet', 'stalled'] as const;
export type Liveness = (typeof LIVENESS_STATES)[number];

/** When each kind of evidence last showed life (epoch ms; null: never yet). */
export interface LivenessEvidence {
  startedAt: number;
  lastOutputAt: number | null;
  lastEventAt: number | null;
  lastCpuAt: number | null;
  lastFileChangeAt: number | null;
}

export interface LivenessLimits {
  /** Silence this long makes an agent `quiet`. */
  quietAfterMs: number;
  /** Silence and idleness this long, both, make it `stalled`. */
  stallAfterMs: number;
}

const latest = (...times: Array<number | null>): number => Math.max(...times.map((t) => t ?? Number.NEGATIVE_INFINITY));

export function judgeLiveness(evidence: LivenessEvidence, limits: LivenessLimits, now: number): Liveness {
  const spoke = Math.max(evidence.startedAt, latest(evidence.lastOutputAt, evidence.lastEventAt));
  const worked = Math.max(evidence.startedAt, latest(evidence.lastCpuAt, evidence.lastFileChangeAt));
  if (now - spoke < limits.quietAfterMs) return 'progressing';
  if (now - spoke >= limits.stallAfterMs && now - worked >= limits.stallAfterMs) return 'stalled';
  return 'quiet';
}
