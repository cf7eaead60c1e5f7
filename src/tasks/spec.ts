/**
 * The task format: what a task file holds and what `submit()` accepts. A task id becomes
 * part of a branch name (`coord/<id>`) and of file names in the state directory, so the id
 * pattern is strict on purpose: nothing that could escape a path or a ref is allowed.
 */
import { z } from 'zod';
import { validateGlob } from '../coordination/file-globs.js';

/** Ids are safe as a git ref component and a file name: no `/`, no `..`, no leading dot. */
export const TASK_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** True when `id` is a safe task id (and does not end in `.lock` or hold `..`, which git refuses). */
export function isSafeTaskId(id: string): boolean {
  return TASK_ID_PATTERN.test(id) && !id.includes('..') && !id.endsWith('.lock') && !id.endsWith('.');
}

export const TaskIdSchema = z.string().refine(isSafeTaskId, {
  message: 'unsafe task id: use 1-64 of A-Z a-z 0-9 . _ - starting with a letter or digit (no "..", no ".lock" ending)',
});

export const BackoffSchema = z.strictObject({
  initialMs: z.number().int().nonnegative().default(1_000),
  maxMs: z.number().int().nonnegative().default(60_000),
  factor: z.number().min(1).default(2),
});

/**
 * One task. It runs exactly one of `run` (an argv array, in a pseudo-terminal with cwd = the
 * worker's worktree), `module` (a JavaScript handler, in the worker's piscina pool) or
 * `agent` (a coding-agent profile given `prompt`: see src/agents/profiles.ts).
 */
export const TaskSpecSchema = z
  .strictObject({
    id: TaskIdSchema,
    run: z.array(z.string()).min(1, 'run needs at least the program name').optional(),
    module: z.string().min(1).optional(),
    /** An agent profile: claude, codex, aider, gemini, or one the config's `agents:` defines. */
    agent: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'an agent profile name: letters, digits, . _ -').optional(),
    /** What the agent is asked (text; at most 64 KiB by default; control characters are removed). */
    prompt: z.string().optional(),
    /** The model, as the agent's CLI names it (e.g. sonnet). */
    model: z.string().min(1).max(200).optional(),
    /** Extra argv for the agent, after its profile's. */
    args: z.array(z.string()).optional(),
    /** Run the agent's interactive mode: its session stays live in the PTY, and messages are typed into it. */
    interactive: z.boolean().optional(),
    export: z.string().min(1).optional(),
    input: z.unknown().optional(),
    deps: z.array(TaskIdSchema).default([]),
    priority: z.number().int().default(0),
    needs: z.array(z.string().min(1)).default([]),
    timeoutMs: z.number().int().positive().optional(),
    maxAttempts: z.number().int().min(1).max(100).optional(),
    backoff: BackoffSchema.optional(),
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'bad environment variable name'), z.string()).default({}),
    /** The shared rate limit (a key of the config's `rateLimits`) its attempts start under; an agent task's default is its profile's provider. */
    rateKey: z.string().min(1).max(128).optional(),
    /**
     * `none`: the task needs no worktree of its own (it reads, reports, calls out; it does not
     * change files). Nothing is checked out before it or committed after it: it runs in its
     * worker's worktree as that is, and completes with no commit. Default `worktree`.
     */
    workspace: z.enum(['worktree', 'none']).optional(),
    /** The files the task will change (globs relative to the repository root): it never runs beside a task whose globs overlap. */
    files: z.array(z.string().min(1).superRefine((glob, ctx) => { const problem = validateGlob(glob); if (problem !== null) ctx.addIssue({ code: 'custom', message: problem }); })).optional(),
  })
  .superRefine((spec, ctx) => {
    const kinds = [spec.run, spec.module, spec.agent].filter((kind) => kind !== undefined).length;
    if (kinds !== 1) {
      ctx.addIssue({ code: 'custom', message: 'a task needs exactly one of "run" (argv array), "module" (handler path) or "agent" (a profile, with "prompt")' });
    }
    if (spec.module === undefined && (spec.export !== undefined || spec.input !== undefined)) {
      ctx.addIssue({ code: 'custom', message: '"export" and "input" belong to module tasks' });
    }
    if (spec.agent === undefined && (spec.prompt !== undefined || spec.model !== undefined || spec.args !== undefined || spec.interactive !== undefined)) {
      ctx.addIssue({ code: 'custom', message: '"prompt", "model", "args" and "interactive" belong to agent tasks' });
    }
    if (spec.agent !== undefined && spec.prompt === undefined) {
      ctx.addIssue({ code: 'custom', path: ['prompt'], message: 'an agent task needs a "prompt"' });
    }
  });

export const TaskFileSchema = z.strictObject({ tasks: z.array(z.unknown()) });

/** A task as written by a user (defaults not yet applied). */
export type TaskSpecInput = z.input<typeof TaskSpecSchema>;
/** A validated task with defaults applied. */
export type TaskSpec = z.output<typeof TaskSpecSchema>;

