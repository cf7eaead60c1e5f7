/**
 * The version of the stored schema this code reads and writes. Each SQL backend keeps it in
 * its `meta` table (`schema_version`) and migrates older stores forward on open; a store
 * written by a newer coord is refused before anything is written, since this code cannot
 * know what the newer one's data means.
 */
import { CoordError } from '../errors.js';

/**
 * The schema version this code writes. Bump it with a new migration, never edit an old one.
 * 1: tasks, deps, attempts, events. 2: released starts kept (`releases` table) and the
 * crash-release count (`tasks.crash_releases`). 3: each run's agent session and usage
 * (`agent_session`, `agent_usage` on `attempts` and `releases`), the rate-limit-wait count
 * (`tasks.rate_limit_waits`) and the index of ready tasks waiting out a rate limit
 * (`tasks_waiting`). 4: the mailbox (`threads`, `messages`, `cursors`, `triggers`,
 * `trigger_attempts`). 5: coordination (`spend`, `merges`).
 */
export const STORE_SCHEMA_VERSION = 5;

/** The `meta` key holding the version. */
export const SCHEMA_VERSION_KEY = 'schema_version';

/** A migration: the statements taking a store from `version - 1` to `version`. */
export interface Migration {
  version: number;
  statements: readonly string[];
}

/** Throws `STORE_TOO_NEW` when `found` (the stored version) is newer than this code's. */
export function assertSchemaNotNewer(found: number, where: string): void {
  if (found <= STORE_SCHEMA_VERSION) return;
  throw new CoordError(
    'STORE_TOO_NEW',
    `the store at ${where} has schema version ${found}, but this coord only knows versions up to ${STORE_SCHEMA_VERSION}: ` +
      'it was written by a newer coord; upgrade coord (the store was left untouched)',
    { details: { where, found, supported: STORE_SCHEMA_VERSION } },
  );
}

/**
 * For a read-only open, which cannot migrate: the stored version must be this code's.
 * `STATE_NOT_FOUND` when nothing was ever stored, `STORE_TOO_NEW` for a newer store, and
 * `STORE_UNAVAILABLE` for an older one (the next supervisor to open it upgrades it).
 */
export function assertSchemaReadable(found: number, where: string): void {
  assertSchemaNotNewer(found, where);
  if (found === 0) {
    throw new CoordError('STATE_NOT_FOUND', `no coord state in ${where}: nothing has run there yet`, { details: { where } });
  }
  if (found < STORE_SCHEMA_VERSION) {
    throw new CoordError(
      'STORE_UNAVAILABLE',
      `the store at ${where} has schema version ${found}, from an older coord: it is upgraded to ${STORE_SCHEMA_VERSION} ` +
        'when a supervisor next opens it (a read-only command leaves it as it is)',
      { details: { where, found, supported: STORE_SCHEMA_VERSION } },
    );
  }
}

/** Parses a stored version; anything but a positive integer is a corrupt store. */
export function parseSchemaVersion(value: unknown, where: string): number {
  const version = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(version) || version < 1) {
    throw new CoordError('STORE_UNAVAILABLE', `the store at ${where} has an unreadable schema version: ${String(value)}`, {
      details: { where, value },
    });
  }
  return version;
}

/** The migrations after `from`, in order. */
export function pendingMigrations(migrations: readonly Migration[], from: number): Migration[] {
  return migrations.filter((m) => m.version > from).sort((a, b) => a.version - b.version);
}
