/**
 * The environment of a task process: the worker's own environment, then the task's `env`,
 * then the `COORD_*` variables, which a task cannot override (they identify the attempt to
 * whatever the task runs, e.g. a hook that reports back). `COORD_ATTEMPT_MARKER` is inherited
 * by every process the task starts, detached ones included, which is how the worker and the
 * supervisor find those processes again to end them (see src/procs/).
 */
import { MARKER_VAR } from '../src/procs/attempt-marker.js';

/** The identity of one task attempt, as the task process sees it. */
export interface TaskIdentity {
  taskId: string;
  attempt: number;
  workerId: string;
  worktree: string;
  /** The attempt marker (src/procs/attempt-marker.ts). */
  marker: string;
}

/**
 * Builds the environment for a task process.
 *
 * @example
 * buildTaskEnv(process.env, { CI: '1' }, { taskId: 'a', attempt: 1, workerId: 'w1', worktree: '/wt', marker: 'r.w1.a.1.l' });
 */
export function buildTaskEnv(
  base: NodeJS.ProcessEnv,
  taskEnv: Readonly<Record<string, string>>,
  identity: TaskIdentity,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(base)) {
    if (value !== undefined) env[key] = value;
  }
  Object.assign(env, taskEnv, coordVariables(identity));
  return env;
}

/** The `COORD_*` variables for one attempt. */
export function coordVariables(identity: TaskIdentity): Record<string, string> {
  return {
    COORD_TASK_ID: identity.taskId,
    COORD_WORKER_ID: identity.workerId,
    COORD_ATTEMPT: String(identity.attempt),
    COORD_WORKTREE: identity.worktree,
    [MARKER_VAR]: identity.marker,
  };
}
