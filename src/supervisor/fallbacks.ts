/**
 * Fallback chains for attempts that failed because of where they ran rather than what they
 * ran (a crashed or hung worker, a timeout, an expired lease). Each chain is a
 * `fallback:<taskId>#<n>` child of the coordinator (machines/fallback-chain.ts); its stage
 * decides where the next attempt goes:
 *
 * - `live`: the same worker again;
 * - `resume`: the same worker, with `COORD_RESUME_COUNT` and `COORD_PREVIOUS_LOG` (the earlier
 *   attempt's output) in the task's environment;
 * - `respawn`: another worker, with `COORD_SUMMARY_FILE` naming a summary of every earlier
 *   attempt and hop;
 * - `exhausted`: no further attempt: the task is dead-lettered.
 *
 * Other failure codes go through the plain retry policy (any worker, after backoff);
 * `maxAttempts` caps both. Which codes start a chain is configurable (`fallback.codes`).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { AnyActorRef } from 'xstate';
import { fallbackStageOf, type FallbackChainSnapshot, type FallbackStage } from '../../machines/fallback-chain.js';
import type { TaskRecord } from '../lifecycle/task-record.js';

/**
 * Failure codes that warrant a fallback chain by default: the session stalled (a timeout, a
 * hung worker, an expired lease). A plain crash (`WORKER_CRASHED`) is retried anywhere by the
 * retry policy instead: the worker it ran on is gone, so there is no live session to return
 * to, and an operator's `kill -9` or the OOM killer says nothing about the task.
 */
export const FALLBACK_CODES: readonly string[] = ['TASK_TIMEOUT', 'WORKER_HUNG', 'LEASE_EXPIRED'];

/** Where the next attempt of a task may run, and what extra environment it gets. */
export interface Placement {
  only: string | null;
  avoid: string | null;
  env: Record<string, string>;
}

export interface FallbackHost {
  child(id: string): AnyActorRef | undefined;
  spawn(taskId: string, key: string): void;
  /** The per-task log folder (summary files go there). */
  taskDir(taskId: string): string;
}

export interface AttemptFailureInfo {
  task: TaskRecord;
  workerId: string;
  code: string;
  at: number;
  sessionIdleMs: number;
  workerCrashLooping: boolean;
  previousLog: string;
}

export class FallbackBoard {
  private readonly chains = new Map<string, string>();
  private readonly placements = new Map<string, Placement>();
  private generation = 0;

  private readonly codes: ReadonlySet<string>;

  constructor(
    private readonly host: FallbackHost,
    codes: readonly string[] = FALLBACK_CODES,
  ) {
    this.codes = new Set(codes);
  }

  /**
   * Feeds a failed attempt to the task's chain (starting one when the code warrants it) and
   * returns the chain's new stage, or null when no chain is involved. Call it outside actor
   * transitions: it spawns and sends synchronously.
   */
  onFailure(info: AttemptFailureInfo): FallbackStage | null {
    const taskId = info.task.spec.id;
    if (!this.codes.has(info.code)) return null;
    let key = this.chains.get(taskId);
    if (key === undefined) {
      key = `${taskId}#${(this.generation += 1)}`;
      this.chains.set(taskId, key);
      this.host.spawn(taskId, key);
    }
    const ref = this.host.child(`fallback:${key}`);
    if (!ref) return null;
    ref.send({ type: 'attempt.failed', code: info.code, at: info.at, sessionIdleMs: info.sessionIdleMs, workerCrashLooping: info.workerCrashLooping, classification: info.code });
    const snapshot = ref.getSnapshot() as FallbackChainSnapshot;
    const stage = fallbackStageOf(snapshot);
    this.place(info, stage, snapshot);
    if (stage === 'exhausted') this.forget(taskId);
    return stage;
  }

  /** The task completed: its chain (if any) recovered. */
  onSuccess(taskId: string): void {
    const key = this.chains.get(taskId);
    if (key !== undefined) this.host.child(`fallback:${key}`)?.send({ type: 'attempt.succeeded' });
    this.forget(taskId);
  }

  /** Where the task's next attempt may run (null: anywhere, no extra environment). */
  placement(taskId: string): Placement | null {
    return this.placements.get(taskId) ?? null;
  }

  /**
   * The slots the task's next attempt may go to under its placement: only its worker (an
   * affinity dropped once that worker is gone for good), or any but the one to avoid.
   * `poolSize` is how many workers there are, idle or not.
   */
  placeable<Slot extends { workerId: string }>(taskId: string, slots: Slot[], gone: (workerId: string) => boolean, poolSize: number): Slot[] {
    const placement = this.placements.get(taskId);
    if (!placement) return slots;
    if (placement.only !== null) {
      if (!gone(placement.only)) return slots.filter((s) => s.workerId === placement.only);
      placement.only = null;
    }
    const others = slots.filter((s) => s.workerId !== placement.avoid);
    // With a single worker, "elsewhere" can only be that worker's next process.
    return others.length > 0 || poolSize > 1 ? others : slots;
  }

  private place(info: AttemptFailureInfo, stage: FallbackStage, snapshot: FallbackChainSnapshot): void {
    const taskId = info.task.spec.id;
    switch (stage) {
      case 'live':
        this.placements.set(taskId, { only: info.workerId, avoid: null, env: {} });
        return;
      case 'resume':
        this.placements.set(taskId, {
          only: info.workerId,
          avoid: null,
          env: { COORD_RESUME_COUNT: String(snapshot.context.resumeCount), COORD_PREVIOUS_LOG: info.previousLog },
        });
        return;
      case 'respawn':
        this.placements.set(taskId, { only: null, avoid: info.workerId, env: { COORD_SUMMARY_FILE: this.writeSummary(info, snapshot) } });
        return;
      default:
        this.placements.delete(taskId);
    }
  }

  private writeSummary(info: AttemptFailureInfo, snapshot: FallbackChainSnapshot): string {
    const dir = this.host.taskDir(info.task.spec.id);
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'fallback-summary.md');
    const last = info.task.attempts.length;
    const attempts = info.task.attempts.map(
      (a) => `- attempt ${a.attempt} on ${a.worker}: ${a.code ?? (a.attempt === last ? info.code : 'ok')}${a.message ? ` — ${a.message}` : ''} (${a.startedAt ?? a.assignedAt} → ${a.finishedAt ?? '?'})`,
    );
    const hops = snapshot.context.hops.map((h) => `- ${h.from} → ${h.to} (${h.reason}, ${h.code}) at ${new Date(h.at).toISOString()}`);
    const text = [
      `# Earlier attempts of task ${info.task.spec.id}`,
      '',
      'This attempt runs on a fresh worker after the earlier ones failed where they ran.',
      '',
      '## Attempts',
      ...attempts,
      '',
      '## Fallback hops',
      ...hops,
      '',
      `Output of the last attempt: ${info.previousLog}`,
      '',
    ].join('\n');
    writeFileSync(file, text);
    return file;
  }

  private forget(taskId: string): void {
    this.chains.delete(taskId);
    this.placements.delete(taskId);
  }
}
