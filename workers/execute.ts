/**
 * One attempt of one task, start to finish: put the worktree on the task's branch, run the
 * task (a command in a PTY or a handler in a thread), commit what it left behind, and build
 * the final `coord:complete` / `coord:failed`. `coord:started` and `coord:progress` are sent
 * along the way; the final message is returned for the caller to send, so it alone decides
 * when a task stops counting as running.
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { isCoordError } from '../src/errors.js';
import type { ParentMessageOf, WorkerMessageInput } from '../src/protocol/messages.js';
import { errorFields, type Logger } from './log.js';
import type { ProcessGroups } from './process-group.js';
import { runModule, type ModulePool } from './run-module.js';
import { runPty, type RunPtyOptions } from './run-pty.js';
import { agentReportOf, outcomeOfAgent, runAgent, type LiveSession } from './run-agent.js';
import type { AgentReport } from '../src/protocol/messages.js';
import { attemptMarker } from '../src/procs/attempt-marker.js';
import { containAttempt, type AttemptContainment } from './task-containment.js';
import { buildTaskEnv, type TaskIdentity } from './task-env.js';
import { openTaskLog } from './task-log.js';
import { failure, finalMessage, outcomeOfModule, outcomeOfPty, type FinalMessage, type TaskOutcome, type TaskRef } from './task-outcome.js';
import { describeMoved } from './ref-guard.js';
import type { Workspace } from './workspace.js';

/** A parsed `coord:assign`. */
export type AssignMessage = ParentMessageOf<'coord:assign'>;

/** What an attempt needs from the worker around it. */
export interface ExecuteContext {
  /** The supervisor's run id (from `coord:hello`): the first part of every attempt marker. */
  runId: string;
  /** Where this worker creates attempt cgroups; null when it cannot (see src/procs/cgroup.ts). */
  cgroupBase: string | null;
  workerId: string;
  worktree: string;
  /** Git in `worktree`; one per worker process, since it remembers the worktree's state. */
  workspace: Workspace;
  killGraceMs: number;
  send: (message: WorkerMessageInput) => void;
  groups: ProcessGroups;
  modules: ModulePool;
  logger: Logger;
  /** An interactive agent attempt's live session, by lease, while it runs. */
  sessions?: Map<string, LiveSession>;
}

/**
 * Runs one attempt and returns its final message. Never rejects; `signal` cancels it.
 *
 * @example
 * const final = await executeAssign(assign, controller.signal, context);
 * channel.send(final);
 */
export async function executeAssign(assign: AssignMessage, signal: AbortSignal, context: ExecuteContext): Promise<FinalMessage> {
  const startedAt = performance.now();
  const elapsed = (): number => performance.now() - startedAt;
  const ref: TaskRef = { taskId: assign.taskId, attempt: assign.attempt, lease: assign.lease };
  const logger = context.logger.with({ taskId: assign.taskId, attempt: assign.attempt });
  if (assign.workspace === 'none') return executeWithoutWorkspace(assign, ref, signal, { ...context, logger }, elapsed);
  try {
    await context.workspace.prepare(assign.branch, assign.startCommit);
  } catch (error) {
    logger.log('error', 'could not prepare the task branch', errorFields(error));
    const message = `could not prepare branch ${assign.branch} in ${context.worktree}: ${error instanceof Error ? error.message : String(error)}`;
    // A start commit that does not exist is the task's problem (as before, not retried)...
    if (isCoordError(error) && error.details.startCommitMissing === true) return finalMessage(ref, failure(error.code, message, null, null, true), null, null, elapsed());
    // ...anything else is the worktree's fault even after a rebuild: the task never ran.
    // WORKTREE_FAILED is charged to the workspace: the supervisor gives the task back unburnt
    // and takes this worker out of service.
    return finalMessage(ref, failure('WORKTREE_FAILED', message), null, null, elapsed());
  }

  const { outcome, agent } = await runExec(assign, ref, signal, { ...context, logger });

  // Failures are committed too: a half-finished attempt is often what the next one (or a
  // person) needs to look at.
  let commit: string | null = null;
  let gitError: string | null = null;
  let judged = outcome;
  try {
    const finished = await context.workspace.finish(assign.branch, assign.taskId, assign.attempt);
    commit = finished.tip;
    // Moving anyone else's branch outweighs how the task itself ended.
    if (finished.movedRefs.length > 0) {
      logger.log('error', 'the task moved refs outside its branch', { movedRefs: finished.movedRefs });
      judged = failure('TASK_MOVED_REF', `the task moved ${describeMoved(finished.movedRefs)}; a task may only commit to ${assign.branch}`);
    }
  } catch (error) {
    logger.log('error', 'could not commit the task branch', errorFields(error));
    gitError = error instanceof Error ? error.message : String(error);
  }
  return finalMessage(ref, judged, commit, gitError, elapsed(), agent);
}

/**
 * An attempt that needs no workspace (`workspace: none`): no checkout before it, no commit
 * after it, so it costs no git process. It runs in the worktree as it is; whatever it leaves
 * there is cleaned away before the next task that has a workspace, never committed.
 */
async function executeWithoutWorkspace(assign: AssignMessage, ref: TaskRef, signal: AbortSignal, context: ExecuteContext, elapsed: () => number): Promise<FinalMessage> {
  context.workspace.touched();
  const { outcome, agent } = await runExec(assign, ref, signal, context);
  return finalMessage(ref, outcome, null, null, elapsed(), agent);
}

async function runExec(assign: AssignMessage, ref: TaskRef, signal: AbortSignal, context: ExecuteContext): Promise<{ outcome: TaskOutcome; agent?: AgentReport }> {
  const marker = attemptMarker({ runId: context.runId, workerId: context.workerId, taskId: assign.taskId, attempt: assign.attempt, lease: assign.lease });
  const identity: TaskIdentity = { taskId: assign.taskId, attempt: assign.attempt, workerId: context.workerId, worktree: context.worktree, marker };
  const containment = containAttempt(marker, context.cgroupBase);
  const exec = assign.exec;
  const header = `[coord] ${new Date().toISOString()} task ${assign.taskId} attempt ${assign.attempt} worker ${context.workerId} `;

  if (exec.kind === 'agent') {
    const result = await runAgent({
      exec,
      ...ptyOptions(assign, ref, signal, context, identity, exec.env, `${header}agent ${exec.agent} argv ${JSON.stringify(exec.argv)}\n`, containment),
      onUsage: (delta) => context.send({ type: 'coord:usage', ...ref, ...delta }),
      onLiveness: (state) => context.send({ type: 'coord:liveness', ...ref, state }),
      onSession: (session) => (session === null ? context.sessions?.delete(ref.lease) : context.sessions?.set(ref.lease, session)),
    });
    return { outcome: outcomeOfAgent(result, assign.timeoutMs), agent: agentReportOf(result.facts) };
  }
  if (exec.kind === 'run') {
    const run = await runPty({
      argv: exec.argv,
      ...ptyOptions(assign, ref, signal, context, identity, exec.env, `${header}argv ${JSON.stringify(exec.argv)}\n`, containment),
    });
    return { outcome: outcomeOfPty(run, assign.timeoutMs) };
  }
  return { outcome: await runModuleTask(assign, ref, signal, context, identity, containment, header) };
}

/** What every PTY run of an attempt is started with. */
function ptyOptions(assign: AssignMessage, ref: TaskRef, signal: AbortSignal, context: ExecuteContext, identity: TaskIdentity,
  env: Record<string, string>, header: string, containment: AttemptContainment): Omit<RunPtyOptions, 'argv'> {
  return {
      cwd: context.worktree,
      env: buildTaskEnv(process.env, env, identity),
      logFile: assign.logFile,
      maxLogBytes: assign.maxLogBytes,
      header,
      timeoutMs: assign.timeoutMs,
      killGraceMs: context.killGraceMs,
      signal,
      groups: context.groups,
      containment,
      logger: context.logger,
      onSpawn: (pid) => context.send({ type: 'coord:started', ...ref, pid }),
      onProgress: (outputBytes) => context.send({ type: 'coord:progress', ...ref, outputBytes }),
      quietAfterMs: assign.quietAfterMs,
      onQuiet: (quietMs, lastLine) => context.send({ type: 'coord:quiet', ...ref, quietMs, lastLine: lastLine?.slice(0, 500) ?? null }),
  };
}

async function runModuleTask(assign: AssignMessage, ref: TaskRef, signal: AbortSignal, context: ExecuteContext, identity: TaskIdentity,
  containment: AttemptContainment, header: string): Promise<TaskOutcome> {
  const exec = assign.exec;
  if (exec.kind !== 'module') return failure('INTERNAL', `not a module task: ${exec.kind}`);
  // Relative module paths name a file in the task's checkout; absolute ones are used as is.
  const modulePath = path.resolve(context.worktree, exec.module);
  const log = await openTaskLog(assign.logFile, assign.maxLogBytes, context.logger);
  log.note(`${header}module ${modulePath} export ${exec.export}\n`);
  context.send({ type: 'coord:started', ...ref, pid: null });
  const run = await runModule({
    pool: context.modules,
    task: { modulePath, exportName: exec.export, input: exec.input, context: identity },
    // Warm threads hold the modules of the files on disk: without a workspace, of whatever commit the worktree is at.
    startCommit: assign.workspace === 'none' ? context.workspace.head ?? assign.startCommit : assign.startCommit,
    worktree: context.worktree,
    timeoutMs: assign.timeoutMs,
    signal,
  });
  // A handler's child processes inherit the thread's environment, marker included: end the
  // ones it left running.
  await containment.reap();
  const outcome = outcomeOfModule(run, assign.timeoutMs);
  log.note(`[coord] ended: reason=${run.terminationReason} `
    + `${outcome.ok ? 'ok' : `code=${outcome.code} message=${JSON.stringify(outcome.message)}`} durationMs=${Math.round(run.durationMs)}\n`);
  await log.close();
  return outcome;
}
