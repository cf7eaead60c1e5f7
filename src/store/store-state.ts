/**
 * The error for using a store that is not open (never opened, or closed).
 */
import { CoordError } from '../errors.js';

/** `USAGE`: a mutation on a store opened with `readOnly`. */
export function storeReadOnly(store: string): CoordError {
  return new CoordError('USAGE', `${store} was opened read-only: it cannot be changed through this connection`, { details: { store } });
}

/** `NOT_RUNNING`: the store at `where` is not open. */
export function storeNotOpen(kind: string, where: string): CoordError {
  return new CoordError('NOT_RUNNING', `the ${kind} store at ${where} is not open: call open() first`, {
    details: { kind, where },
  });
}
