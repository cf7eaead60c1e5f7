/**
 * One try of a delivery, as decided: what the job row becomes, the attempt line it records,
 * and what must happen once both are written.
 */
import type { CoordErrorCode } from '../../errors.js';
import type { TriggerAttempt, TriggerPatch } from '../../mailbox/types.js';

/** A try's result, for the job row and its attempt line. */
export interface Step {
  patch: TriggerPatch;
  outcome: TriggerAttempt['outcome'];
  code: TriggerAttempt['code'];
  detail: string | null;
  /** Record the try (false for a repeat of the same wait). */
  record?: boolean;
  /** What to do once the step is written (a reopen, an interrupt: never before the job says `awaiting`). */
  after?: () => Promise<void>;
}

/** The job is dead with `code`: the task cannot take its messages. */
export function dead(detail: string, code: CoordErrorCode): Step {
  return { patch: { status: 'dead', releaseLease: true }, outcome: 'dead', code, detail };
}
