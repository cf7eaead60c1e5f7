/**
 * What earlier scans of `/proc` learnt: which processes carry no attempt marker at all (or
 * are not ours), so a later scan reads only the processes started since. A sweep runs after every attempt; reading
 * every process's `environ` each time costs about a millisecond per hundred processes (more
 * on a loaded machine), as much as a short task itself, while almost every process it reads
 * (the machine's daemons, the shell, the supervisor) was already read the time before.
 *
 * A process's `environ` is fixed when it `exec`s, so "no marker" stays true for the same
 * process, with two exceptions the memo guards against:
 * - **The window between fork and exec.** A child the worker forks shows the worker's own,
 *   unmarked environment until it execs the task with the marker. A pid is trusted only
 *   once two sweeps at least {@link CONFIRM_AFTER_MS} apart read it unmarked: by the second,
 *   the exec happened long ago (the passes of one sweep count as one read).
 * - **A pid used again.** The kernel hands out pids in increasing order, wrapping at
 *   `pid_max`. Every pid handed out since the last scan (from the kernel's last-pid counter
 *   then to now) is read afresh; and a memo older than the time the counter could take to go
 *   all the way round at a fork rate no machine sustains is dropped whole.
 * What never carried the marker, and processes that hid it by `exec`ing with another
 * environment, are missed as before: the marker was never the only containment (process
 * groups and, where allowed, cgroups come first).
 */

/** The kernel's pid counter: the last pid it handed out, and where it wraps. */
export interface PidCounter {
  lastPid: number;
  pidMax: number;
}

/** Forks per millisecond no machine sustains (fork and exit cost each process ≥ 10 µs of CPU): bounds how soon the counter can wrap. */
const FORKS_PER_MS = 100;
const MAX_AGE_MS = 10_000;
/** How far apart the two unmarked reads of a pid must be before it is trusted. */
export const CONFIRM_AFTER_MS = 100;

/** A pid read unmarked: when first, whether confirmed, and in which sweep last. */
interface Seen {
  firstAt: number;
  confirmed: boolean;
  scan: number;
}

/**
 * Remembers, across scans, the pids read without any attempt marker (or not ours).
 *
 * @example
 * const memo = new MarkerMemo();
 * memo.begin(counter, Date.now());
 * if (memo.trusted(pid) || unmarkedWhenRead(pid)) memo.unmarked(pid);
 * memo.end();
 */
export class MarkerMemo {
  readonly #seen = new Map<number, Seen>();
  #counter: PidCounter | null = null;
  #at = 0;
  #scan = 0;

  /** Starts a sweep (its passes are one scan): forgets the pids the kernel may have handed out again since the last one. */
  begin(counter: PidCounter | null, now: number): void {
    const before = this.#counter;
    const tooOld = now - this.#at > Math.min(MAX_AGE_MS, (counter?.pidMax ?? 0) / FORKS_PER_MS);
    if (counter === null || before === null || tooOld || counter.pidMax !== before.pidMax) this.#seen.clear();
    else for (const pid of this.#seen.keys()) if (handedOutBetween(pid, before.lastPid, counter.lastPid)) this.#seen.delete(pid);
    this.#counter = counter;
    this.#at = now;
    this.#scan += 1;
  }

  /** Whether `pid` is known to carry no marker: read so twice far enough apart, and not handed out again since. */
  trusted(pid: number): boolean {
    return this.#seen.get(pid)?.confirmed === true;
  }

  /** This sweep read `pid` without a marker (or it is not ours), or trusted it. */
  unmarked(pid: number): void {
    const seen = this.#seen.get(pid);
    if (seen === undefined) this.#seen.set(pid, { firstAt: this.#at, confirmed: false, scan: this.#scan });
    else if (seen.scan !== this.#scan) {
      seen.confirmed ||= this.#at - seen.firstAt >= CONFIRM_AFTER_MS;
      seen.scan = this.#scan;
    }
  }

  /** Ends a scan: forgets what it did not see unmarked (gone, or marked since). */
  end(): void {
    for (const [pid, seen] of this.#seen) if (seen.scan !== this.#scan) this.#seen.delete(pid);
  }
}

/** Whether the counter handed out `pid` on its way from `from` to `to` (pids after `from`, up to `to`, wrapping). Pure. */
export function handedOutBetween(pid: number, from: number, to: number): boolean {
  if (to === from) return false;
  return to > from ? pid > from && pid <= to : pid > from || pid <= to;
}
