/**
 * Token and cost usage the tasks reported (`coord:usage`), summed per task over its
 * attempts, for the run summary.
 */

/** Token and cost usage a task reported, summed over its attempts. */
export interface TaskUsage {
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

export class UsageLedger {
  private readonly byTask = new Map<string, TaskUsage>();

  add(report: { taskId: string; inputTokens: number; outputTokens: number; costUsd: number }): void {
    const sum = this.byTask.get(report.taskId) ?? { inputTokens: 0, outputTokens: 0, costUsd: 0 };
    sum.inputTokens += report.inputTokens;
    sum.outputTokens += report.outputTokens;
    sum.costUsd += report.costUsd;
    this.byTask.set(report.taskId, sum);
  }

  /** What `taskId` used so far, or undefined if it reported nothing. */
  of(taskId: string): TaskUsage | undefined {
    return this.byTask.get(taskId);
  }
}
