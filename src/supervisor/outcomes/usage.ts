/**
 * Token and cost usage the tasks reported while they ran (`coord:usage`, deltas), per task
 * and per worker, and the agent session each running task is in: the live view. What an
 * attempt used in all is kept in the store when it ends (its attempt's `usage`); the summary
 * adds the two.
 */

/** Tokens and USD. */
export interface TaskUsage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  costUsd: number;
}

export const zeroUsage = (): TaskUsage => ({ inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, costUsd: 0 });

/** `into` += `more`, field by field (a missing or null field counts 0). */
export function addUsage(into: TaskUsage, more: Partial<Record<keyof TaskUsage, number | null | undefined>>): TaskUsage {
  into.inputTokens += more.inputTokens ?? 0;
  into.outputTokens += more.outputTokens ?? 0;
  into.cacheReadTokens += more.cacheReadTokens ?? 0;
  into.cacheWriteTokens += more.cacheWriteTokens ?? 0;
  into.costUsd += more.costUsd ?? 0;
  return into;
}

export interface UsageReport {
  taskId: string;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens?: number | undefined;
  cacheWriteTokens?: number | undefined;
  costUsd: number;
  sessionId?: string | null | undefined;
}

export class UsageLedger {
  /** The running attempt's usage so far, by task (cleared when the attempt ends: the store has it then). */
  private readonly running = new Map<string, TaskUsage>();
  private readonly byWorker = new Map<string, TaskUsage>();
  private readonly total = zeroUsage();
  private readonly sessions = new Map<string, string>();

  add(report: UsageReport, workerId?: string): void {
    addUsage(this.running.get(report.taskId) ?? this.running.set(report.taskId, zeroUsage()).get(report.taskId) as TaskUsage, report);
    if (workerId !== undefined) addUsage(this.byWorker.get(workerId) ?? this.byWorker.set(workerId, zeroUsage()).get(workerId) as TaskUsage, report);
    addUsage(this.total, report);
    if (report.sessionId) this.sessions.set(report.taskId, report.sessionId);
  }

  /** The attempt of `taskId` ended: its usage is the store's now. */
  attemptEnded(taskId: string): void {
    this.running.delete(taskId);
  }

  /** What the running attempt of `taskId` used so far, or undefined. */
  of(taskId: string): TaskUsage | undefined {
    return this.running.get(taskId);
  }

  /** The session id the running (or last) attempt of `taskId` reported. */
  sessionOf(taskId: string): string | undefined {
    return this.sessions.get(taskId);
  }

  /** Usage per worker and in all, since this supervisor started. */
  totals(): { byWorker: Record<string, TaskUsage>; total: TaskUsage } {
    return { byWorker: Object.fromEntries([...this.byWorker].map(([id, usage]) => [id, { ...usage }])), total: { ...this.total } };
  }
}
