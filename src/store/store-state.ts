/**
 * The error for using a store that is not open (never opened, or closed).
 */
import { CoordError } from '../errors.js';

/** `NOT_RUNNING`: the store at `where` is not open. */
export function storeNotOpen(kind: string, where: string): CoordError {
  return new CoordError('NOT_RUNNING', `the ${kind} store at ${where} is not open: call open() first`, {
    details: { kind, where },
  });
}
