/**
 * Why a dropped file was refused, as `rejected/<name>.error.json` says it, and which
 * failures are the file's fault at all.
 *
 * A file is rejected only for what is wrong with it: it does not parse, its tasks do not
 * validate, or the supervisor refused them (a duplicate id, an unknown dependency). A
 * supervisor that is stopping or a store that cannot be reached says nothing about the file,
 * and neither does an error coord did not expect: rejecting for those would make users
 * re-drop good files after every outage. Such a file stays claimed and is tried again.
 */
import { isCoordError, toCoordError, type CoordError, type CoordErrorCode } from '../errors.js';

/** What `rejected/<name>.error.json` holds (a contract: exactly these fields). */
export interface InboxError {
  code: string;
  message: string;
  /** The file's name as it was dropped (the rejected copy may carry a suffix). */
  file: string;
  /** Where in the file the first problem is, 1-based; null when the error is about the file as a whole. */
  line: number | null;
  column: number | null;
}

/** Submit failures that are the supervisor's state, not the file's. */
const NOT_THE_FILES_FAULT: ReadonlySet<CoordErrorCode> = new Set(['NOT_RUNNING', 'STORE_UNAVAILABLE']);

/** The rejection for `error`, or null when `error` must not reject the file (see above). */
export function rejectionFor(error: unknown): CoordError | null {
  if (!isCoordError(error) || NOT_THE_FILES_FAULT.has(error.code)) return null;
  return error;
}

/** The `.error.json` of `error` for the file dropped as `file`. */
export function inboxErrorOf(error: unknown, file: string): InboxError {
  const coordError = toCoordError(error);
  const position = (key: 'line' | 'column'): number | null => {
    const value = coordError.details[key];
    return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : null;
  };
  return { code: coordError.code, message: coordError.message, file, line: position('line'), column: position('column') };
}
