/**
 * Finds the processes whose environment carries a selected attempt marker, by reading
 * `/proc/<pid>/environ` (Linux only). Only processes of our own uid are looked at (the
 * kernel lets nobody else's environ be read anyway, unless we are root, and a task of ours
 * cannot run as someone else without a setuid program), and our own process and its
 * ancestors are never returned: a supervisor started from inside a coord task carries that
 * task's marker, and a sweep must not kill the process doing the sweeping or what runs it.
 *
 * Every read may race with a process exiting: a pid that vanishes (ENOENT, ESRCH) or turns
 * unreadable between the listing and the read is skipped, never an error.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { markerMatches, MARKER_VAR, type MarkerSelector } from './attempt-marker.js';
import type { MarkerMemo, PidCounter } from './marker-memo.js';
import { environValue, pidEntries, statParentPid } from './proc-parse.js';

/** The view of `/proc` the scan needs; tests pass a fake. */
export interface ProcSource {
  /** Every pid currently listed. */
  pids(): number[];
  /** The owner uid of `pid`, or null when it is gone. */
  uid(pid: number): number | null;
  /** The raw environ of `pid`, or null when it is gone or unreadable. */
  environ(pid: number): Buffer | null;
  /** The parent pid of `pid`, or null when it is gone. */
  parent(pid: number): number | null;
  /** The kernel's pid counter, or null when unknown (then nothing is remembered between scans). */
  counter?(): PidCounter | null;
}

/** Who is scanning: never returned, nor any ancestor. */
export interface ScanSelf {
  pid: number;
  uid: number;
}

function quietly<T>(read: () => T): T | null {
  try {
    return read();
  } catch {
    return null; // vanished or unreadable: a race with exit, not a failure
  }
}

/** The real `/proc`. */
export const linuxProc: ProcSource = {
  pids: () => pidEntries(quietly(() => readdirSync('/proc')) ?? []),
  uid: (pid) => quietly(() => statSync(`/proc/${pid}`).uid),
  environ: (pid) => quietly(() => readFileSync(`/proc/${pid}/environ`)),
  parent: (pid) => {
    const stat = quietly(() => readFileSync(`/proc/${pid}/stat`, 'utf8'));
    return stat === null ? null : statParentPid(stat);
  },
  // Per pid namespace, as /proc's listing is.
  counter: () => {
    const lastPid = Number(quietly(() => readFileSync('/proc/sys/kernel/ns_last_pid', 'utf8')));
    const pidMax = Number(quietly(() => readFileSync('/proc/sys/kernel/pid_max', 'utf8')));
    return Number.isInteger(lastPid) && lastPid > 0 && Number.isInteger(pidMax) && pidMax > 0 ? { lastPid, pidMax } : null;
  },
};

/** The current process, as the default {@link ScanSelf}. */
export function currentProcess(): ScanSelf {
  return { pid: process.pid, uid: process.getuid?.() ?? -1 };
}

/** `self.pid` and every ancestor up to the root (pid 1 or a vanished parent). */
export function selfAndAncestors(self: ScanSelf, source: ProcSource): Set<number> {
  const chain = new Set<number>();
  let pid: number | null = self.pid;
  // The chain is short; the size bound only guards against a cycle a fake could describe.
  while (pid !== null && pid > 0 && !chain.has(pid) && chain.size < 4_096) {
    chain.add(pid);
    pid = source.parent(pid);
  }
  return chain;
}

/**
 * The pids of our uid, other than us and our ancestors, whose marker `selector` selects.
 * With `memo` (begun by the caller for this sweep), the processes it trusts to carry no
 * marker are not read again, and what this scan reads unmarked is told to it. Pids read with
 * an empty environment are added to `unsure`.
 */
export function findMarked(selector: MarkerSelector, source: ProcSource = linuxProc, self: ScanSelf = currentProcess(), memo: MarkerMemo | null = null,
  unsure: number[] = []): number[] {
  const spared = selfAndAncestors(self, source);
  const found: number[] = [];
  for (const pid of source.pids()) {
    if (spared.has(pid)) continue;
    if (memo?.trusted(pid) === true) {
      memo.unmarked(pid);
      continue;
    }
    // Not ours, gone, or with no environment to read (a kernel thread, a zombie): nothing
    // to kill now, and for the memo as good as unmarked (it trusts only a repeated answer).
    const uid = source.uid(pid);
    const environ = uid === self.uid ? source.environ(pid) : null;
    const marker = environ === null ? null : environValue(environ, MARKER_VAR);
    // An empty environment is what a process shows in the middle of an exec (or a kernel
    // thread, always): the caller may look again.
    if (environ?.length === 0) unsure.push(pid);
    if (marker === null) memo?.unmarked(pid);
    else if (markerMatches(marker, selector)) found.push(pid);
  }
  return found;
}
