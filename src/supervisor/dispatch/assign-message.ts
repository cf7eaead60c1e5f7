/**
 * The `coord:assign` message for one attempt of a task: what the worker runs, on which
 * branch, from which commit, with which limits.
 */
import path from 'node:path';
import { buildArgv, resolveProfile, type AgentProfileConfig } from '../../agents/profiles.js';
import type { Exec, ParentMessageOf } from '../../protocol/messages.js';
import type { TaskRecord } from '../../store/task-store.js';
import type { TaskSpec } from '../../tasks/spec.js';

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
  /** Silence that is reported as perhaps waiting for input (null: never). */
  quietAfterMs: number | null;
  /** Environment a fallback hop adds (COORD_RESUME_COUNT, COORD_SUMMARY_FILE, …). */
  extraEnv: Record<string, string>;
  /** Agent profiles from the config, over the built-in ones. */
  agents: Readonly<Record<string, AgentProfileConfig>>;
  /** How long an agent may take to exit after its final result. */
  agentResultGraceMs: number;
  /** Silent and idle this long, an agent is stalled (null: never). */
  agentStallAfterMs: number | null;
  /** A run that delivers messages (the mailbox): its prompt, and the session it resumes. */
  turn?: TurnDirective | null;
  /** The shared rate limit the worker asks leave of before it starts (null: none applies). */
  rateKey?: string | null;
}

/** What a delivering run asks of the agent instead of the task's own prompt. */
export interface TurnDirective {
  prompt: string;
  /** The session to resume; null for a fresh session. */
  resume: string | null;
}

/** What the worker runs for `spec`. */
function execOf(spec: TaskSpec, facts: AttemptFacts): Exec {
  if (spec.run !== undefined) return { kind: 'run', argv: spec.run, env: { ...spec.env, ...facts.extraEnv } };
  if (spec.agent !== undefined) {
    const profile = resolveProfile(spec.agent, facts.agents);
    return {
      kind: 'agent',
      agent: profile.name,
      argv: buildArgv(profile, {
        prompt: facts.turn?.prompt ?? spec.prompt ?? '', model: spec.model, args: spec.args, resume: facts.turn?.resume ?? null, interactive: spec.interactive,
      }),
      env: { ...profile.env, ...spec.env, ...facts.extraEnv },
      // An interactive session prints its own interface, not a structured stream.
      parser: spec.interactive === true && profile.style !== 'template' ? 'text' : profile.parser,
      resultGraceMs: facts.agentResultGraceMs,
      stallAfterMs: facts.agentStallAfterMs,
      interactive: spec.interactive === true,
    };
  }
  return { kind: 'module', module: spec.module ?? '', export: spec.export ?? 'default', input: spec.input ?? null };
}

/** Builds the assign message for `task`. */
export function assignMessage(task: TaskRecord, facts: AttemptFacts): ParentMessageOf<'coord:assign'> {
  const { spec } = task;
  return {
    type: 'coord:assign',
    taskId: spec.id,
    attempt: facts.attempt,
    lease: facts.lease,
    exec: execOf(spec, facts),
    branch: task.branch,
    startCommit: facts.startCommit,
    timeoutMs: spec.timeoutMs ?? facts.timeoutMs,
    logFile: facts.logFile,
    maxLogBytes: facts.maxLogBytes,
    quietAfterMs: facts.quietAfterMs,
    rateKey: facts.rateKey ?? null,
    workspace: task.spec.workspace ?? 'worktree',
  };
}
