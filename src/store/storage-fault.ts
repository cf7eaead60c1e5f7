/**
 * Storage faults: the disk, the state directory or the store file failing under coord.
 * One pure mapping from an errno or SQLite result code to a stable coord code, and one
 * function that turns such a failure into a {@link CoordError} whose message says what
 * failed, where, and what to do. A storage fault is never retried: trying again cannot fix
 * a corrupt file or a full disk, and a loop of the same failure only fills the logs.
 */
import { existsSync } from 'node:fs';
import { CoordError, isCoordError, type CoordErrorCode } from '../errors.js';

/** The codes a storage fault maps to. */
export type StorageFaultCode = Extract<CoordErrorCode, 'STORE_CORRUPT' | 'DISK_FULL' | 'STATE_DIR_UNWRITABLE' | 'STORE_UNAVAILABLE'>;

const FAULT_CODES: ReadonlySet<string> = new Set<StorageFaultCode>(['STORE_CORRUPT', 'DISK_FULL', 'STATE_DIR_UNWRITABLE', 'STORE_UNAVAILABLE']);

/**
 * The coord code for an errno (`ENOSPC`) or a SQLite result code (`SQLITE_CORRUPT_INDEX`;
 * extended codes map like their primary code), or null when `code` is not a storage fault.
 *
 * @example
 * storageFaultCode('EROFS'); // 'STATE_DIR_UNWRITABLE'
 */
export function storageFaultCode(code: string): StorageFaultCode | null {
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return 'DISK_FULL';
    // Configuration, not bad luck: the directory is read-only, not a directory, or not ours.
    case 'EROFS':
    case 'EACCES':
    case 'EPERM':
    case 'ENOTDIR':
      return 'STATE_DIR_UNWRITABLE';
    case 'EIO':
      return 'STORE_UNAVAILABLE';
  }
  const primary = /^SQLITE_[A-Z]+/.exec(code)?.[0];
  switch (primary) {
    case 'SQLITE_CORRUPT':
    case 'SQLITE_NOTADB':
      return 'STORE_CORRUPT';
    case 'SQLITE_FULL':
      return 'DISK_FULL';
    case 'SQLITE_READONLY':
    case 'SQLITE_CANTOPEN':
    case 'SQLITE_PERM':
      return 'STATE_DIR_UNWRITABLE';
    case 'SQLITE_IOERR':
      return 'STORE_UNAVAILABLE';
    default:
      return null;
  }
}

/** The `code` property of a thrown value, if it has a string one. */
export function rawCodeOf(error: unknown): string | undefined {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/** True for a {@link CoordError} carrying one of the storage fault codes. */
export function isStorageFault(error: unknown): error is CoordError {
  return isCoordError(error) && FAULT_CODES.has(error.code);
}

/** What failed: the store file, or a file in the state directory (the log, the directory itself). */
export interface FaultPlace {
  kind: 'store' | 'state-dir' | 'file';
  path: string;
}

/**
 * The failure as a storage-fault {@link CoordError} with advice, or null when `error` is
 * not a storage fault. A storage-fault CoordError is returned as it is (the first place to
 * name it knew best).
 */
export function storageFault(error: unknown, place: FaultPlace): CoordError | null {
  if (isStorageFault(error)) return error;
  const raw = rawCodeOf(error);
  const code = raw === undefined ? null : storageFaultCode(raw);
  if (code === null || raw === undefined) return null;
  const reason = error instanceof Error ? error.message : String(error);
  return new CoordError(code, `${describe(code, place, raw, reason)}. ${advice(code, place)}`, {
    cause: error,
    details: { path: place.path, errno: raw },
  });
}

function describe(code: StorageFaultCode, place: FaultPlace, raw: string, reason: string): string {
  const what = place.kind === 'store' ? `the SQLite store ${place.path}` : place.kind === 'state-dir' ? `the state directory ${place.path}` : place.path;
  switch (code) {
    case 'STORE_CORRUPT':
      return `${what} is corrupt (${raw}: ${reason})`;
    case 'DISK_FULL':
      return `no space left for ${what} (${raw})`;
    case 'STATE_DIR_UNWRITABLE':
      return `cannot write ${what} (${raw}: ${reason})`;
    case 'STORE_UNAVAILABLE':
      return `I/O error on ${what} (${raw}: ${reason})`;
  }
}

function advice(code: StorageFaultCode, place: FaultPlace): string {
  switch (code) {
    case 'STORE_CORRUPT':
      return (
        'Restore it from a backup, or move it aside to start again with an empty store ' +
        `(its queue and history are then lost; task branches stay in git): ${moveAsideCommand(place.path)}`
      );
    case 'DISK_FULL':
      return 'Free space on that file system (or choose another --state-dir) and start again; the queue is kept up to its last write';
    case 'STATE_DIR_UNWRITABLE':
      return 'The state directory must be a writable directory: fix its mount or permissions, or choose another with --state-dir';
    case 'STORE_UNAVAILABLE':
      return 'Check the disk (dmesg) before starting again';
  }
}

/** `mv` for the store file and whichever of its `-wal` / `-shm` files exist: one command to copy. */
export function moveAsideCommand(file: string): string {
  const files = [file, `${file}-wal`, `${file}-shm`].filter((f, i) => i === 0 || existsSync(f));
  return files.map((f) => `mv ${shellQuote(f)} ${shellQuote(`${f}.corrupt`)}`).join(' && ');
}

function shellQuote(text: string): string {
  return /^[A-Za-z0-9_./@%+=:,-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}
