/**
 * One agent attempt: the agent's argv in a PTY like any command, its output read line by line
 * by the parser of its format, what it learns (session, model, usage) reported as it comes
 * (`coord:usage`, deltas), and a watchdog for an agent that sent its final result but does
 * not exit: after `resultGraceMs` it is ended, and the result counts. How the attempt ended
 * is judged from the facts and the exit together (src/agents/classify.ts), never from the
 * exit code alone.
 */
import { classifyAgentOutcome, reportsResult } from '../src/agents/classify.js';
import { createParser } from '../src/agents/parsers/index.js';
import type { AgentFacts } from '../src/agents/types.js';
import type { AgentReport, Exec } from '../src/protocol/messages.js';
import { judgeLiveness, type Liveness, type LivenessEvidence } from '../src/agents/liveness.js';
import { attemptCpuMicros, watchWorktree } from './activity.js';
import { runPty, type PtyRunResult, type RunPtyOptions } from './run-pty.js';
import { failure, type TaskOutcome } from './task-outcome.js';
import { createThrottle } from './throttle.js';

export type AgentExec = Extract<Exec, { kind: 'agent' }>;

/** What the attempt reports about its usage as it goes: deltas since the last report. */
export interface UsageDelta {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  costUsd: number;
  sessionId: string | null;
  model: string | null;
}

export interface RunAgentOptions extends Omit<RunPtyOptions, 'argv' | 'onOutput' | 'signal'> {
  exec: AgentExec;
  signal: AbortSignal;
  onUsage(delta: UsageDelta): void;
  /** The agent's liveness changed. */
  onLiveness?(state: Liveness): void;
  /** How often liveness evidence is sampled (default 2 s). */
  livenessSampleMs?: number;
  /** How often usage is reported at most (default 1 s); the last report comes before the end. */
  usageIntervalMs?: number;
  now?: () => number;
  /** An interactive session's terminal, once it runs (see {@link LiveSession}); null again once it ended. */
  onSession?: (session: LiveSession | null) => void;
}

/** An interactive agent's live session: what typing a message into it needs. */
export interface LiveSession {
  /** Epoch ms of its last output (null: none yet). */
  lastOutputAt(): number | null;
  /** Types `text` and Enter. */
  type(text: string): void;
}

export interface AgentRunResult {
  run: PtyRunResult;
  facts: AgentFacts;
  /** The watchdog ended the agent after its result. */
  endedAfterResult: boolean;
  /** It was ended as stalled: silent and idle for `stallAfterMs`. */
  stalled: boolean;
  /** The output format it was read as. */
  kind: AgentExec['parser'];
}

/** The silence after which an agent is quiet, when the attempt names none. */
const DEFAULT_QUIET_MS = 30_000;

/** Longest line read from an agent (a stream-json line carries a whole message; larger ones are skipped). */
const MAX_LINE_CHARS = 8 * 1024 * 1024;

export async function runAgent(options: RunAgentOptions): Promise<AgentRunResult> {
  const { exec } = options;
  const now = options.now ?? Date.now;
  const parser = createParser(exec.parser);
  const watchdog = new AbortController();
  let endedAfterResult = false;
  let graceTimer: NodeJS.Timeout | undefined;
  let sent = { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, costUsd: 0, sessionId: null as string | null, model: null as string | null };
  const report = createThrottle(options.usageIntervalMs ?? 1_000, () => {
    const { usage, sessionId, model } = parser.facts();
    const delta: UsageDelta = {
      inputTokens: usage.inputTokens - sent.inputTokens,
      outputTokens: usage.outputTokens - sent.outputTokens,
      cacheReadTokens: usage.cacheReadTokens - sent.cacheReadTokens,
      cacheWriteTokens: usage.cacheWriteTokens - sent.cacheWriteTokens,
      costUsd: Math.max(0, (usage.costUsd ?? 0) - sent.costUsd),
      sessionId,
      model,
    };
    const changed = delta.inputTokens + delta.outputTokens + delta.cacheReadTokens + delta.cacheWriteTokens > 0 || delta.costUsd > 0
      || sessionId !== sent.sessionId || model !== sent.model;
    if (!changed) return;
    sent = { ...usage, costUsd: usage.costUsd ?? 0, sessionId, model };
    options.onUsage(delta);
  });

  // Liveness: what it said (output, events) and what it did (CPU, files), sampled.
  let stalled = false;
  let pid: number | null = null;
  let lastCpu: number | null = null;
  const evidence: LivenessEvidence = { startedAt: now(), lastOutputAt: null, lastEventAt: null, lastCpuAt: null, lastFileChangeAt: null };
  let liveness: Liveness = 'progressing';
  const stopWatchingFiles = watchWorktree(options.cwd, () => (evidence.lastFileChangeAt = now()));
  const sampler = setInterval(() => {
    if (pid === null) return;
    const cpu = attemptCpuMicros(options.containment.cgroupDir, pid);
    if (cpu !== null && lastCpu !== null && cpu > lastCpu) evidence.lastCpuAt = now();
    if (cpu !== null) lastCpu = cpu;
    evidence.lastEventAt = parser.facts().lastEventAt;
    const quietAfterMs = options.quietAfterMs ?? DEFAULT_QUIET_MS;
    const judged = judgeLiveness(evidence, { quietAfterMs, stallAfterMs: exec.stallAfterMs ?? Number.POSITIVE_INFINITY }, now());
    if (judged !== liveness) {
      liveness = judged;
      options.onLiveness?.(judged);
    }
    if (judged === 'stalled' && exec.stallAfterMs !== null && !stalled) {
      stalled = true;
      watchdog.abort();
    }
  }, options.livenessSampleMs ?? 2_000);
  sampler.unref();

  let partial = '';
  const feed = (line: string): void => {
    if (parser.push(line, now())) report.push(0);
    // An interactive session answers turn after turn: a result does not end it.
    if (parser.facts().result !== null && graceTimer === undefined && !exec.interactive) {
      graceTimer = setTimeout(() => {
        endedAfterResult = true;
        watchdog.abort();
      }, exec.resultGraceMs);
      graceTimer.unref();
    }
  };
  const onOutput = (data: string): void => {
    evidence.lastOutputAt = now();
    partial += data;
    for (let newline = partial.indexOf('\n'); newline !== -1; newline = partial.indexOf('\n')) {
      feed(partial.slice(0, newline).replace(/\r$/, ''));
      partial = partial.slice(newline + 1);
    }
    if (partial.length > MAX_LINE_CHARS) partial = '';
  };

  const onSpawn = (spawned: number): void => {
    pid = spawned;
    options.onSpawn(spawned);
  };
  const onTerminal = (write: (data: string) => void): void => {
    if (!exec.interactive) return;
    options.onSession?.({
      // A session that printed nothing yet has been quiet only since it started.
      lastOutputAt: () => evidence.lastOutputAt ?? evidence.startedAt,
      // Each line as typed, then Enter (a carriage return, as a keyboard sends it).
      type: (text) => write(`${text.replace(/\n/g, '\r')}\r`),
    });
  };
  const run = await runPty({ ...options, argv: exec.argv, signal: AbortSignal.any([options.signal, watchdog.signal]), onOutput, onSpawn, onTerminal });
  options.onSession?.(null);
  clearTimeout(graceTimer);
  clearInterval(sampler);
  stopWatchingFiles();
  if (partial !== '') feed(partial.replace(/\r$/, ''));
  report.flush();
  return { run, facts: parser.facts(), endedAfterResult: endedAfterResult && !stalled, stalled, kind: exec.parser };
}

/** The agent's report for the final message: totals of the attempt. */
export function agentReportOf(facts: AgentFacts): AgentReport {
  return { sessionId: facts.sessionId, model: facts.model, usage: { ...facts.usage } };
}

/** How an agent attempt ended. A stop by coord (timeout, cancel) is judged as for any command. */
export function outcomeOfAgent(result: AgentRunResult, timeoutMs: number | null): TaskOutcome & { retryAfterMs?: number | null } {
  const { run, facts } = result;
  if (run.terminationReason === 'spawn-error') return failure('TASK_SPAWN_FAILED', `cannot start the agent: ${run.spawnError?.message ?? 'unknown spawn error'}`);
  if (run.terminationReason === 'timeout') return { ...failure('TASK_TIMEOUT', `timed out after ${timeoutMs ?? '?'} ms`, run.exitCode, run.signal), outputTail: run.outputTail };
  if (result.stalled) {
    return { ...failure('TASK_TIMEOUT', 'stalled: no output, no events, no CPU and no file changes for the stall limit; ended', run.exitCode, run.signal), outputTail: run.outputTail };
  }
  if (run.terminationReason === 'cancel' && !result.endedAfterResult) return failure('TASK_CANCELLED', 'cancelled', run.exitCode, run.signal);
  // Ended by the watchdog after its result: judged by the result, as if it had exited cleanly.
  const exit = result.endedAfterResult ? { code: 0, signal: null } : { code: run.exitCode, signal: run.signal };
  const verdict = classifyAgentOutcome(facts, exit, { expectsResult: reportsResult(result.kind) });
  if (verdict.ok) return { ok: true, exitCode: run.exitCode, result: facts.result?.text?.slice(0, 4_000) ?? null };
  return { ...failure(verdict.code, verdict.message, run.exitCode, run.signal), outputTail: run.outputTail, retryAfterMs: verdict.retryAfterMs };
}
