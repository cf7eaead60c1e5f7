/**
 * Process groups of the task processes this worker started. A PTY child is a session
 * leader (node-pty calls `forkpty`, which runs `setsid`), so its pid is also the id of a
 * process group holding everything it spawned that did not detach itself. Signalling
 * `-pid` reaches the whole group: an agent CLI and the shells, test runners and servers it
 * started. The registry lets the orchestrator kill every group synchronously when the
 * supervisor vanishes, before the worker exits.
 */

/** Signals the worker sends to task process groups. */
export type GroupSignal = 'SIGTERM' | 'SIGKILL' | 'SIGHUP' | 'SIGINT';

/** Signals a process group; tests and fakes can replace the real `process.kill`. */
export type KillFn = (pid: number, signal: GroupSignal) => void;

const realKill: KillFn = (pid, signal) => {
  process.kill(pid, signal);
};

/** The live task process groups of this worker. */
export class ProcessGroups {
  readonly #live = new Set<number>();
  readonly #kill: KillFn;

  constructor(kill: KillFn = realKill) {
    this.#kill = kill;
  }

  /** Remembers the group led by `pid` until {@link release}. */
  track(pid: number): void {
    this.#live.add(pid);
  }

  /** Forgets the group led by `pid` (after its leader exited and the group was swept). */
  release(pid: number): void {
    this.#live.delete(pid);
  }

  /** The leaders of all tracked groups. */
  get pids(): number[] {
    return [...this.#live];
  }

  /**
   * Sends `signal` to the group led by `pid`. Returns false when the group no longer
   * exists (ESRCH) or may not be signalled; never throws.
   */
  signal(pid: number, signal: GroupSignal): boolean {
    // A pid of 0 or 1 would make `-pid` mean "my own group" or "every process I may
    // signal": never let a bad pid turn into that.
    if (!Number.isInteger(pid) || pid <= 1) return false;
    try {
      this.#kill(-pid, signal);
      return true;
    } catch {
      return false;
    }
  }

  /** Sends `signal` to every tracked group; returns how many were signalled. */
  signalAll(signal: GroupSignal): number {
    let count = 0;
    for (const pid of this.#live) if (this.signal(pid, signal)) count += 1;
    return count;
  }
}
