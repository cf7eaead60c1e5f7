/**
 * When each running attempt started, so its duration can be observed when it ends. A task
 * has at most one attempt in flight, so entries are keyed by task id and carry the attempt
 * number: a late result of an older attempt finds a newer attempt's entry and is ignored.
 *
 * Attempts that never report an end (the supervisor was stopped, the task was released or
 * went dead through another path) must not grow the map forever: `forget` drops a task's
 * entry, and past `capacity` the oldest entry is dropped to make room.
 */

/** Start times of attempts in flight, bounded. */
export class OpenAttempts {
  private readonly starts = new Map<string, { attempt: number; startedAt: number }>();

  /** `capacity`: entries kept at most (the oldest go first). */
  constructor(private readonly capacity = 10_000) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
  }

  get size(): number {
    return this.starts.size;
  }

  /** Attempt `attempt` of `taskId` started at `startedAt` (ms); replaces an older attempt's entry. */
  start(taskId: string, attempt: number, startedAt: number): void {
    // Delete first so a re-started task moves to the newest end of the insertion order.
    this.starts.delete(taskId);
    if (this.starts.size >= this.capacity) {
      const oldest = this.starts.keys().next();
      if (!oldest.done) this.starts.delete(oldest.value);
    }
    this.starts.set(taskId, { attempt, startedAt });
  }

  /**
   * The attempt ended at `endedAt` (ms): its duration in ms, or null when its start is not
   * known (it started before the metrics existed, was dropped for room, or is not the
   * attempt in flight). The entry is removed either way when it is this attempt's.
   */
  end(taskId: string, attempt: number, endedAt: number): number | null {
    const open = this.starts.get(taskId);
    if (open === undefined || open.attempt !== attempt) return null;
    this.starts.delete(taskId);
    return Math.max(0, endedAt - open.startedAt);
  }

  /** Drops whatever attempt of `taskId` is open (it will not report an end). */
  forget(taskId: string): void {
    this.starts.delete(taskId);
  }

  clear(): void {
    this.starts.clear();
  }
}
