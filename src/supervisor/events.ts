/**
 * The supervisor's event bus: what happened, as typed `coord:*` events. The CLI's progress
 * view, the logs and (later) the control plane all listen here.
 */
import { EventEmitter } from 'node:events';
import type { CoordErrorCode } from '../errors.js';
import type { CoordinatorState } from '../../machines/coordinator.js';
import type { DeathCause } from '../../machines/restart-policy.js';

export interface TaskErrorInfo {
  code: CoordErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

/** Every event the supervisor emits, by name. */
export interface SupervisorEvents {
  'coord:state': { state: CoordinatorState };
  /** Tasks a submission added (those already known are not repeated). */
  'coord:submitted': { taskIds: string[] };
  'coord:assigned': { taskId: string; workerId: string; attempt: number };
  'coord:started': { taskId: string; workerId: string; attempt: number };
  'coord:complete': { taskId: string; workerId: string; attempt: number; exitCode: number | null; result: unknown; commit: string | null };
  /**
   * An attempt failed. `output`: the last lines the task printed (empty when it printed
   * nothing or never ran); `logFile`: its whole output, or null when it never started.
   */
  'coord:failed': { taskId: string; workerId: string; attempt: number; error: TaskErrorInfo; willRetry: boolean; output: string[]; logFile: string | null };
  'coord:dead': { taskId: string; error: TaskErrorInfo };
  'coord:blocked': { taskId: string; error: TaskErrorInfo };
  'coord:released': { taskId: string; reason: string };
  /** A running task printed nothing for `quietMs`: perhaps it waits for input nobody gives (a prompt). Once per silence. */
  'coord:waiting': { taskId: string; workerId: string; quietMs: number; lastLine: string | null };
  /** A dead task is back in play with a fresh attempt budget; `changed`: it and the dependents it unblocked. */
  'coord:redriven': { taskId: string; changed: string[] };
  'coord:worker-ready': { workerId: string; pid: number };
  'coord:worker-exited': { workerId: string; code: number | null; signal: string | null };
  'coord:worker-failed': { workerId: string; code: number | null; signal: string | null };
  /** `cause`: what the death is charged to (`task`: the task's attempt; only `unstable` counts against restart intensity). */
  'coord:worker-restarting': { workerId: string; restart: number; delayMs: number; code: number | null; signal: string | null; cause: DeathCause };
  /** Restart intensity ran out: the worker spawns again after `delayMs` (its `coolDown`-th cool-down). */
  'coord:worker-cooling': { workerId: string; coolDown: number; delayMs: number; code: number | null; signal: string | null };
  'coord:worker-hung': { workerId: string; lastHeartbeatAt: number | null };
  'coord:protocol-refused': { workerId: string; reason: string; refusedType: string | null };
  'coord:breaker': { scope: string; from: string; to: string; reason: string };
  /** A ready task waits because the breaker of `scope` (its worker's or its command's) refuses it; said once per hold. */
  /** A ready task waits: an open breaker (`scope` its scope, no `code`), a budget (`BUDGET_EXCEEDED`), a running task's declared files (`FILES_BUSY`), a rate limit (`RATE_LIMITED`). */
  'coord:held': { taskId: string; scope: string; code?: 'BUDGET_EXCEEDED' | 'FILES_BUSY' | 'RATE_LIMITED' };
  /** The merge queue merged a task's branch into `target`: `commit` is the target's new tip that holds it. */
  'coord:merged': { taskId: string; target: string; commit: string | null };
  /** The merge queue did not merge a task's branch: `conflict` (with `files`), `test-failed` (with `logFile`), or `pending` on a target checkout with local changes (`MERGE_TARGET_DIRTY`). */
  'coord:merge-failed': { taskId: string; target: string; status: string; code: string; message: string; files: string[]; logFile: string | null };
  /** Two tasks' work (`tasks`), or one task's and the merge target's (`target`), would not merge cleanly in `files`: predicted before either finishes. */
  'coord:conflict': { tasks: string[]; target?: string; files: string[]; detectedAt: string };
  /** Work stealing (`assignment: locality`): an idle worker took a task that waited for a busy one. */
  'coord:stolen': { taskId: string; workerId: string };
  /** A budget scope (`global`, `worker:<id>`, `task:<id>`) passed `warnAt` of its cap (once per scope). */
  'coord:budget-warning': { scope: string; spentUsd: number; capUsd: number; taskId: string };
  /** A budget scope reached its cap: no new start in it; a running task over its own cap is stopped. */
  'coord:budget-exceeded': { scope: string; spentUsd: number; capUsd: number; taskId: string };
  'coord:settled': { counts: Record<string, number> };
  /** A running task reported usage (deltas since its last report), with its agent session once known. */
  'coord:usage': { taskId: string; workerId: string; inputTokens: number; outputTokens: number; cacheReadTokens: number; cacheWriteTokens: number; costUsd: number; sessionId: string | null; model: string | null; agent: string | null };
  /** An agent met its provider's rate limit: the task waits until `retryAt` (null: it waited too often and is dead). */
  /** A task waits out a rate limit: its provider's (`signal`: the key is in cooldown for every worker) or the shared limiter's. */
  'coord:rate-limited': { taskId: string; workerId: string; attempt: number; retryAt: string | null; message: string; key: string | null; signal: boolean; resetAt: string };
  /** A running agent's liveness changed (`progressing`, `quiet`, `stalled`), judged by evidence. */
  'coord:liveness': { taskId: string; workerId: string; state: 'progressing' | 'quiet' | 'stalled' };
  /** A task was cancelled from outside; `changed`: it and the dependents blocked by it. */
  'coord:cancelled': { taskId: string; changed: string[] };
  /** The worker count changed while running (`removed` workers stop once their task is done). */
  'coord:workers-scaled': { from: number; to: number; added: string[]; removed: string[] };
  /** Live settings changed (the config file was edited, or `reconfigure` was called). */
  'coord:reconfigured': { settings: Record<string, unknown> };
  /** The daemon re-read its config file: `applied` live keys took effect, `restart` keys wait for a restart. */
  'coord:config-reloaded': { file: string; applied: string[]; restart: string[] };
  /** An edit of the config file was invalid: nothing of it applies, the running configuration stays. */
  'coord:config-rejected': { file: string; error: TaskErrorInfo };
  /** A message was added to an agent task's thread (the mailbox). */
  'coord:message': { taskId: string; seq: number; source: string };
  /**
   * A delivery (trigger job) tried: `outcome` what that try did (`typed`, `deferred`,
   * `waiting`, `handed-over`, `hopped`, `delivered`, `dead`…), `code` why (a coord code or `OK`),
   * `stage` the fallback chain's stage (`live`, `resume`, `respawn`, …).
   */
  'coord:trigger': { taskId: string; triggerId: number; uptoSeq: number; stage: string; outcome: string; code: string; detail: string | null };
  /** The task's messages up to `uptoSeq` reached its agent, by `route`. */
  'coord:delivered': { taskId: string; triggerId: number; uptoSeq: number; route: string };
  /** A worker's setup (its pool's `setup` in its worktree): `running`, then `done`, `skipped` (done before for this worktree) or `failed` (SETUP_FAILED; the log says why). */
  'coord:worker-setup': { workerId: string; pool: string; status: 'running' | 'done' | 'skipped' | 'failed'; logFile: string; durationMs: number | null; error: TaskErrorInfo | null };
  /** A pool became ready (at least `minReady` ready workers, its own and announced ones) or stopped being ready. */
  'coord:pool': { pool: string; ready: boolean; workers: { total: number; ready: number; busy: number }; since: string };
  /** A task file dropped into the inbox was submitted (`accepted`, with the ids added) or refused (`rejected`, with why). */
  'coord:intake': { file: string; status: 'accepted' | 'rejected'; ids: string[]; error: { code: string; message: string; line: number | null; column: number | null } | null };
  /** A safeguard's block was lifted by an operator, with the reason they gave. */
  'coord:overridden': { taskId: string; code: string; reason: string };
}

export type SupervisorEventName = keyof SupervisorEvents;

/** Hears every event: its name and payload. */
export type AnyEventListener = <K extends SupervisorEventName>(name: K, payload: SupervisorEvents[K]) => void;

/** A typed EventEmitter for {@link SupervisorEvents}. */
export class SupervisorEventBus extends EventEmitter {
  private readonly taps = new Set<AnyEventListener>();

  override emit<K extends SupervisorEventName>(name: K, payload: SupervisorEvents[K]): boolean {
    // A tap that throws (a broken client stream) must not stop the event reaching the others.
    for (const tap of this.taps) {
      try {
        tap(name, payload);
      } catch {
        // the tap's own problem; it is the tap's to report
      }
    }
    return super.emit(name, payload);
  }

  /** Calls `listener` for every event (the control plane's streams); returns an unsubscribe. */
  onAny(listener: AnyEventListener): () => void {
    this.taps.add(listener);
    return () => this.taps.delete(listener);
  }
  override on<K extends SupervisorEventName>(name: K, listener: (payload: SupervisorEvents[K]) => void): this {
    return super.on(name, listener);
  }
  override once<K extends SupervisorEventName>(name: K, listener: (payload: SupervisorEvents[K]) => void): this {
    return super.once(name, listener);
  }
  override off<K extends SupervisorEventName>(name: K, listener: (payload: SupervisorEvents[K]) => void): this {
    return super.off(name, listener);
  }
}
