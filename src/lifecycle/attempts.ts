/**
 * The attempt rows of an in-flight task: the open one, and the start of the first counted run
 * (what a task's `startedAt` shows once a start is taken back).
 */
import { CoordError } from '../errors.js';
import type { AttemptRow, TaskRows } from './rows.js';

/** The open attempt of an in-flight task: number `attemptCount`. Its absence is a store bug. */
export function openAttempt({ task, attempts }: TaskRows): AttemptRow {
  const open = attempts.find((attempt) => attempt.attempt === task.attemptCount);
  if (open === undefined) throw new CoordError('INTERNAL', `task "${task.id}" is in flight without its attempt ${task.attemptCount}`);
  return open;
}

/** When the first counted run started, once attempt `takenBack` is no longer counted. */
export function firstStart(attempts: readonly AttemptRow[], takenBack: number): string | null {
  return attempts.find((attempt) => attempt.attempt === 1 && attempt.attempt !== takenBack)?.startedAt ?? null;
}
