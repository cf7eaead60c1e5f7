/**
 * What the plan tests share: fixed time, specs, rows built by hand, and a fake of a store's
 * tables ({@link Tables}) that applies a plan's writes to maps, so a test can play several
 * plans in a row and read the rows back. No store, no I/O: the plans alone.
 */
import { planClaim } from '../../src/lifecycle/claim.js';
import { planComplete } from '../../src/lifecycle/complete.js';
import type { Plan } from '../../src/lifecycle/draft.js';
import type { NewEvent } from '../../src/lifecycle/events.js';
import { newTaskRow, type AttemptRow, type ReleaseRow, type Subgraph, type TaskRow, type TaskRows } from '../../src/lifecycle/rows.js';
import { planStart } from '../../src/lifecycle/start.js';
import { planSubmit } from '../../src/lifecycle/submit.js';
import { TaskSpecSchema, type TaskSpec, type TaskSpecInput } from '../../src/tasks/spec.js';

/** Fixed epoch: plans never read the clock. */
export const T0 = Date.parse('2025-01-01T00:00:00Z');

export const iso = (ms: number): string => new Date(ms).toISOString();

/** A parsed run task. */
export function spec(id: string, extra: Partial<TaskSpecInput> = {}): TaskSpec {
  return TaskSpecSchema.parse({ id, run: ['true'], ...extra });
}

/** A row for `spec` (seq 1 unless given), with `changes`. */
export function row(taskSpec: TaskSpec, changes: Partial<TaskRow> = {}): TaskRow {
  return { ...newTaskRow(taskSpec, 1), ...changes };
}

/** A failure at `now`. */
export function failure(now: number, extra: { retryable?: boolean; retryAfterMs?: number | null } = {}) {
  return { code: 'TASK_EXIT_NONZERO' as const, message: 'exit 1', exitCode: 1, retryable: extra.retryable ?? true, retryAfterMs: extra.retryAfterMs ?? null, now };
}

/** The rows of a fake store, written by plans. */
export class Tables {
  readonly tasks = new Map<string, TaskRow>();
  readonly attempts = new Map<string, AttemptRow[]>();
  readonly releases: ReleaseRow[] = [];
  readonly events: NewEvent[] = [];
  private readonly edges = new Map<string, string[]>();

  /** Applies `plan`; returns its answer. */
  apply<T>(plan: Plan<T>): T {
    const { writes } = plan;
    for (const { row: added, deps } of writes.added) {
      this.tasks.set(added.id, added);
      for (const dep of deps) this.edges.set(dep, [...(this.edges.get(dep) ?? []), added.id]);
    }
    for (const changed of writes.tasks) this.tasks.set(changed.id, changed);
    for (const key of writes.droppedAttempts) {
      this.attempts.set(key.taskId, (this.attempts.get(key.taskId) ?? []).filter((a) => a.attempt !== key.attempt));
    }
    for (const attempt of writes.attempts) {
      const kept = (this.attempts.get(attempt.taskId) ?? []).filter((a) => a.attempt !== attempt.attempt);
      this.attempts.set(attempt.taskId, [...kept, attempt].sort((a, b) => a.attempt - b.attempt));
    }
    this.releases.push(...writes.releases);
    this.events.push(...plan.events);
    return plan.answer;
  }

  /** The row of `id`. */
  task(id: string): TaskRow {
    const found = this.tasks.get(id);
    if (found === undefined) throw new Error(`no row ${id}`);
    return found;
  }

  /** The row of `id` with its attempts. */
  rows(id: string): TaskRows {
    return { task: this.task(id), attempts: this.attempts.get(id) ?? [] };
  }

  /** The whole graph, as a plan's subgraph. */
  graph(): Subgraph {
    return { tasks: this.tasks, dependents: this.edges };
  }

  /** `type:taskId` of each event line since `from`. */
  eventLines(from = 0): string[] {
    return this.events.slice(from).map((event) => `${event.type}:${event.taskId}`);
  }
}

/** Submits `specs` into `t` at `now`; returns the ids added. */
export function submit(t: Tables, specs: readonly TaskSpec[], now = T0): string[] {
  const ids = new Set(specs.flatMap((s) => [s.id, ...s.deps]));
  const known = [...t.tasks.values()].filter((r) => ids.has(r.id));
  const lastSeq = Math.max(0, ...[...t.tasks.values()].map((r) => r.seq));
  return t.apply(planSubmit(known, { specs, now, lastSeq }));
}

/** Claims `id` for node n1 worker w1 under `lease`; returns the attempt number, or null. */
export function claim(t: Tables, id: string, lease: string, now = T0, capabilities: readonly string[] = []): number | null {
  return t.apply(planClaim(t.task(id), { nodeId: 'n1', workerId: 'w1', capabilities, lease, expiresAt: now + 1000, now }));
}

/** Claims and starts `id`; returns the attempt number. */
export function start(t: Tables, id: string, lease: string, now = T0): number {
  const attempt = claim(t, id, lease, now);
  if (attempt === null) throw new Error(`${id} was not claimable`);
  t.apply(planStart(t.rows(id), now));
  return attempt;
}

/** Completes the in-flight `id`. */
export function complete(t: Tables, id: string, now = T0): void {
  const dependents = [...t.tasks.values()].filter((r) => r.spec.deps.includes(id));
  t.apply(planComplete(t.rows(id), dependents, { exitCode: 0, result: null, commit: null, now }));
}
