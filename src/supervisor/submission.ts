/**
 * Checking a submission before anything is stored: every spec parses, no task would take
 * over a branch that already exists in the repository (unless the store already knows the
 * task: a resumed run reuses its branches), and some worker can run every task.
 */
import { checkPayload } from '../agents/payload.js';
import { resolveProfile, type AgentProfileConfig } from '../agents/profiles.js';
import { CoordError } from '../errors.js';
import { plural } from '../plural.js';
import type { TaskStore } from '../store/task-store.js';
import { TaskSpecSchema, type TaskSpec, type TaskSpecInput } from '../tasks/spec.js';
import { existingTaskBranches, type Repository } from '../worktrees/repository.js';

/** Parses every task, throwing `TASK_UNSAFE_ID` or `TASK_INVALID` for the first bad one. */
export function parseSpecs(tasks: readonly TaskSpecInput[]): TaskSpec[] {
  return tasks.map((task, index) => {
    const parsed = TaskSpecSchema.safeParse(task);
    if (parsed.success) return parsed.data;
    const issue = parsed.error.issues[0];
    const unsafe = issue?.path[0] === 'id' || (issue?.path[0] === 'deps' && issue.code === 'custom');
    throw new CoordError(unsafe ? 'TASK_UNSAFE_ID' : 'TASK_INVALID', `tasks[${index}]${issue?.path.length ? '.' + issue.path.join('.') : ''}: ${issue?.message}`, {
      details: { index, issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) },
    });
  });
}

/**
 * Agent tasks, checked and made safe before anything is stored: the profile must exist, and
 * the prompt is payload-checked (`PAYLOAD_INVALID`, `PAYLOAD_TOO_LARGE`) and stored cleaned of
 * control characters. All or nothing: the first bad task refuses the whole submission.
 */
export function prepareAgentTasks(specs: readonly TaskSpec[], options: { agents: Readonly<Record<string, AgentProfileConfig>>; maxPromptBytes: number }): TaskSpec[] {
  return specs.map((spec, index) => {
    if (spec.agent === undefined) return spec;
    try {
      resolveProfile(spec.agent, options.agents);
    } catch (error) {
      if (error instanceof CoordError) throw new CoordError(error.code, `tasks[${index}] (${spec.id}): ${error.message}`, { details: { index, taskId: spec.id, ...error.details } });
      throw error;
    }
    return { ...spec, prompt: checkPayload(spec.prompt, `tasks[${index}].prompt (${spec.id})`, options.maxPromptBytes) };
  });
}

/** Throws `BRANCH_EXISTS` or `TASK_UNSATISFIABLE` when the submission cannot be taken. */
export async function checkSubmission(specs: readonly TaskSpec[], repo: Repository, store: TaskStore, canRun: (spec: TaskSpec) => boolean): Promise<void> {
  const branches = await existingTaskBranches(repo);
  const taken: string[] = [];
  for (const spec of specs) {
    if (branches.has(`coord/${spec.id}`) && (await store.get(spec.id)) === undefined) taken.push(`coord/${spec.id}`);
  }
  if (taken.length > 0) {
    const shown = taken.slice(0, 5).join(', ') + (taken.length > 5 ? ` and ${taken.length - 5} more` : '');
    throw new CoordError('BRANCH_EXISTS',
      `${plural(taken.length, 'branch', 'branches')} of these tasks already ${taken.length === 1 ? 'exists' : 'exist'} (${shown}) but the store does not know the tasks: `
      + 'remove them with coord clean --branches (or git branch -D), or rename the tasks', { details: { branches: taken } });
  }
  const unrunnable = specs.find((spec) => !canRun(spec));
  if (unrunnable) {
    const what = unrunnable.agent !== undefined ? `task "${unrunnable.id}" (agent ${unrunnable.agent}) needs` : `task "${unrunnable.id}" needs`;
    throw new CoordError('TASK_UNSATISFIABLE', `no worker has the capabilities ${what} (${unrunnable.needs.join(', ') || 'none'})`, { details: { taskId: unrunnable.id } });
  }
}
