/**
 * The `coord:assign` message for one attempt of a task: what the worker runs, on which
 * branch, from which commit, with which limits.
 */
import path from 'node:path';
import type { ParentMessageOf } from '../protocol/messages.js';
import type { TaskRecord } from '../lifecycle/task-record.js';

/** The per-task, per-attempt output log. */
export function taskLogFile(taskLogDir: string, taskId: string, attempt: number): string {
  return path.join(taskLogDir, taskId, `attempt-${attempt}.log`);
}

export interface AttemptFacts {
  attempt: number;
  lease: string;
  startCommit: string;
  timeoutMs: number | null;
  logFile: string;
  /** The cap on the task output kept in `logFile`. */
  maxLogBytes: number;
  /** Environment a fallback hop adds (COORD_RESUME_COUNT, COORD_SUMMARY_FILE, …). */
  extraEnv: Record<string, string>;
}

/** Builds the assign message for `task`. */
export function assignMessage(task: TaskRecord, facts: AttemptFacts): ParentMessageOf<'coord:assign'> {
  const { spec } = task;
  return {
    type: 'coord:assign',
    taskId: spec.id,
    attempt: facts.attempt,
    lease: facts.lease,
    exec:
      spec.run !== undefined
        ? { kind: 'run', argv: spec.run, env: { ...spec.env, ...facts.extraEnv } }
        : { kind: 'module', module: spec.module ?? '', export: spec.export ?? 'default', input: spec.input ?? null },
    branch: task.branch,
    startCommit: facts.startCommit,
    timeoutMs: spec.timeoutMs ?? facts.timeoutMs,
    logFile: facts.logFile,
    maxLogBytes: facts.maxLogBytes,
  };
}
