/**
 * An exclusive lock on a file, held for as long as this process lives (or until released),
 * released by the kernel when the process dies, even by `kill -9`. Node has no `flock`, so
 * the lock is SQLite's: a `BEGIN EXCLUSIVE` transaction on a small lock database that is
 * never committed. SQLite takes POSIX advisory locks (`fcntl`), which the kernel drops with
 * the process, and it tracks them across connections inside one process, so a second
 * supervisor in the same process is refused too. No lock file is ever "stale": a lock held
 * by nobody alive is free.
 *
 * Who holds a lock cannot be read from the locked database (an exclusive lock keeps readers
 * out), so the holder writes its identity beside it (`<file>.holder.json`, write-then-rename)
 * right after taking the lock; a refused caller reads that to name the holder.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import Database from 'better-sqlite3';
import { CoordError } from '../errors.js';

/** Who holds a lock: enough for a person to find the process. */
export interface LockHolder {
  pid: number;
  nodeId: string;
  host: string;
  /** ISO time the holder took the lock. */
  since: string;
  /** What the lock guards, in words ("state directory /x", "worktree /y"). */
  what: string;
}

/** A held lock. */
export interface HeldLock {
  readonly file: string;
  release(): void;
}

/** The outcome of {@link tryLockFile}: the lock, or who holds it (null when unknown). */
export type LockAttempt = { ok: true; lock: HeldLock } | { ok: false; holder: LockHolder | null };

/** This process as a lock holder. */
export function thisProcess(nodeId: string, what: string): LockHolder {
  return { pid: process.pid, nodeId, host: os.hostname(), since: new Date().toISOString(), what };
}

/**
 * Takes the lock on `file` (created if missing) without waiting.
 *
 * @example
 * const attempt = tryLockFile('/repo/.git/coord/supervisor.lock', thisProcess('host-a', 'state directory /repo/.git/coord'));
 * if (!attempt.ok) throw new Error(`held by pid ${attempt.holder?.pid}`);
 * // ... later
 * attempt.lock.release();
 */
export function tryLockFile(file: string, holder: LockHolder): LockAttempt {
  // timeout 0: a busy lock answers at once instead of waiting for it.
  const db = new Database(file, { timeout: 0 });
  try {
    db.exec('BEGIN EXCLUSIVE');
  } catch (error) {
    db.close();
    if ((error as { code?: unknown }).code === 'SQLITE_BUSY') return { ok: false, holder: readHolder(file) };
    throw error;
  }
  writeHolder(file, holder);
  let released = false;
  return {
    ok: true,
    lock: {
      file,
      release() {
        if (released) return;
        released = true;
        // Closing the connection rolls the transaction back and drops the lock.
        db.close();
      },
    },
  };
}

/**
 * Whether someone holds the lock on `file`, without taking it for longer than the test (and
 * without writing a holder): `{held: true, holder}` or `{held: false}`. A missing file is free.
 */
export function probeLock(file: string): { held: true; holder: LockHolder | null } | { held: false } {
  if (!existsSync(file)) return { held: false };
  const db = new Database(file, { timeout: 0 });
  try {
    db.exec('BEGIN EXCLUSIVE');
    db.exec('ROLLBACK');
    return { held: false };
  } catch (error) {
    if ((error as { code?: unknown }).code === 'SQLITE_BUSY') return { held: true, holder: readHolder(file) };
    throw error;
  } finally {
    db.close();
  }
}

function holderFile(file: string): string {
  return `${file}.holder.json`;
}

function writeHolder(file: string, holder: LockHolder): void {
  const tmp = `${holderFile(file)}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(holder)}\n`);
  renameSync(tmp, holderFile(file));
}

/** The holder's identity as it wrote it, or null (it died before writing, or the file is garbled). */
export function readHolder(file: string): LockHolder | null {
  try {
    const parsed: unknown = JSON.parse(readFileSync(holderFile(file), 'utf8'));
    if (typeof parsed !== 'object' || parsed === null) return null;
    const h = parsed as Partial<LockHolder>;
    if (typeof h.pid !== 'number' || typeof h.nodeId !== 'string') return null;
    return { pid: h.pid, nodeId: h.nodeId, host: String(h.host ?? ''), since: String(h.since ?? ''), what: String(h.what ?? '') };
  } catch {
    return null;
  }
}

/** "pid 123 (node host-a on host-a, since 2026-…)", or "an unknown process". */
export function describeHolder(holder: LockHolder | null): string {
  if (holder === null) return 'another process (its identity could not be read)';
  return `pid ${holder.pid} (node ${holder.nodeId} on ${holder.host}, since ${holder.since})`;
}

/**
 * Takes the lock on `file` or throws `code` (`STATE_LOCKED`, `WORKTREE_LOCKED`) with a
 * message naming the live holder and what to do, and the holder in `details`.
 */
export function lockOrRefuse(file: string, holder: LockHolder, code: 'STATE_LOCKED' | 'WORKTREE_LOCKED', advice: string): HeldLock {
  const attempt = tryLockFile(file, holder);
  if (attempt.ok) return attempt.lock;
  const other = attempt.holder;
  throw new CoordError(code, `${holder.what} is in use by another coord supervisor, ${describeHolder(other)}: ${advice}`, {
    details: { lockFile: file, holderPid: other?.pid ?? null, holderNodeId: other?.nodeId ?? null, holderHost: other?.host ?? null },
  });
}
