/**
 * The in-flight side of the task table: opening an attempt under a lease, starting it,
 * handing it back uncounted, renewing leases, and finding the attempts a crashed holder left
 * behind. In-flight tasks are bounded by the number of workers, so walking them (rather than
 * keeping another index) is the cheap choice.
 */
import type { TaskTable } from './task-table.js';
import { currentAttempt, isoTime, type MutableTaskRecord } from './task-record.js';

/** Who takes an attempt, and until when. */
export interface AttemptHolder {
  workerId: string;
  lease: string;
  now: number;
  /** The supervisor (host); recorded on the attempt when given. */
  nodeId?: string;
  /** Epoch ms; null for a lease that never expires (a single in-process queue). */
  expiresAt?: number | null;
}

/** ready → assigned under `holder`'s lease: pushes the attempt and returns its number. */
export function openAttempt(table: TaskTable, record: MutableTaskRecord, holder: AttemptHolder): number {
  const attempt = record.attempts.length + 1;
  record.attempts.push({
    attempt,
    ...(holder.nodeId === undefined ? {} : { node: holder.nodeId }),
    worker: holder.workerId,
    lease: holder.lease,
    assignedAt: isoTime(holder.now),
    startedAt: null,
    finishedAt: null,
    exitCode: null,
    code: null,
    message: null,
  });
  record.lease = holder.lease;
  record.leaseExpiresAt = holder.expiresAt ?? null;
  record.worker = holder.workerId;
  record.node = holder.nodeId ?? null;
  table.setStatus(record, 'assigned');
  return attempt;
}

/** assigned → running (the worker started it); false, changing nothing, in any other status. */
export function startAttempt(table: TaskTable, record: MutableTaskRecord, now: number): boolean {
  if (record.status !== 'assigned') return false;
  const at = isoTime(now);
  currentAttempt(record).startedAt = at;
  record.startedAt ??= at;
  table.setStatus(record, 'running');
  return true;
}

/** Why and when a start is taken back, and whether a supervisor crash did it. */
export interface ReleaseNote {
  now: number;
  reason: string;
  /** Recovery after a crash (`releaseNode`): counts towards `maxReleases`. */
  crash: boolean;
}

/**
 * Takes the open attempt back without a verdict, leaving the status to the caller: the attempt
 * moves from `attempts` to `released` (with its reason), `releases` (and, for a crash,
 * `crashReleases`) is counted, and the holder is cleared. So `attempts` holds only attempts
 * that count and the next run gets the same attempt number the released one had.
 */
export function takeBackAttempt(record: MutableTaskRecord, note: ReleaseNote): void {
  const open = record.attempts.pop();
  if (open !== undefined) {
    record.released.push({
      attempt: open.attempt,
      ...(open.node === undefined ? {} : { node: open.node }),
      worker: open.worker,
      lease: open.lease,
      assignedAt: open.assignedAt,
      startedAt: open.startedAt,
      releasedAt: isoTime(note.now),
      reason: note.reason,
      crash: note.crash,
    });
  }
  record.releases += 1;
  if (note.crash) record.crashReleases += 1;
  record.startedAt = record.attempts[0]?.startedAt ?? null; // the first counted run's start
  record.lease = null;
  record.leaseExpiresAt = null;
  record.worker = null;
  record.node = null;
}

/** assigned/running → ready without using up an attempt ({@link takeBackAttempt}); ready at once, in its old place. */
export function releaseAttempt(table: TaskTable, record: MutableTaskRecord, note: ReleaseNote): void {
  takeBackAttempt(record, note);
  record.readyAt = 0;
  table.setStatus(record, 'ready');
}

/** The in-flight records, in submission order. */
export function inFlightRecords(table: TaskTable): MutableTaskRecord[] {
  return table
    .inFlight()
    .map((id) => table.recordOf(id))
    .sort((a, b) => a.seq - b.seq);
}

/** Sets the expiry of every in-flight task holding one of `leases`; returns their ids. */
export function extendLeases(table: TaskTable, leases: readonly string[], expiresAt: number): string[] {
  const wanted = new Set(leases);
  const extended: string[] = [];
  for (const record of inFlightRecords(table)) {
    if (record.lease === null || !wanted.has(record.lease)) continue;
    record.leaseExpiresAt = expiresAt;
    table.touch(record.spec.id);
    extended.push(record.spec.id);
  }
  return extended;
}

/** In-flight records whose lease expired at or before `now`: earliest expiry first, then submission order. */
export function expiredRecords(table: TaskTable, now: number): MutableTaskRecord[] {
  return inFlightRecords(table)
    .filter((record) => record.leaseExpiresAt !== null && record.leaseExpiresAt <= now)
    .sort((a, b) => (a.leaseExpiresAt as number) - (b.leaseExpiresAt as number) || a.seq - b.seq);
}

/** The earliest lease expiry among in-flight tasks, or null. */
export function nextLeaseExpiry(table: TaskTable): number | null {
  let earliest: number | null = null;
  for (const id of table.inFlight()) {
    const expiresAt = table.recordOf(id).leaseExpiresAt;
    if (expiresAt !== null && (earliest === null || expiresAt < earliest)) earliest = expiresAt;
  }
  return earliest;
}
