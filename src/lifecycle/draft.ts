/**
 * A plan and the working copy it is built on. A plan function reads rows, decides, and
 * returns its {@link Writes} and the event lines that go with them; the store applies both in
 * one transaction. While deciding, the plan keeps its changes in a {@link Draft}: later steps
 * of the same plan (a walk after a death, the next expired lease of a reap) see the rows as
 * the earlier steps left them, and each row is written once, as it ends up.
 */
import { CoordError } from '../errors.js';
import type { NewEvent } from './events.js';
import { NO_SUBGRAPH, type AttemptRow, type ReleaseRow, type Subgraph, type TaskRow } from './rows.js';
import type { TaskStatus } from './task-record.js';

/** A new task and its distinct dependencies (the `deps` edges to insert). */
export interface AddedTask {
  readonly row: TaskRow;
  readonly deps: readonly string[];
}

/** An `attempts` row's key. */
export interface AttemptKey {
  readonly taskId: string;
  readonly attempt: number;
}

/** Everything a plan writes. */
export interface Writes {
  /** New tasks, in submission order. */
  readonly added: readonly AddedTask[];
  /** Every existing task the plan changed, as it is afterwards (stores rewrite the mutable columns). */
  readonly tasks: readonly TaskRow[];
  /** Attempt rows to insert or overwrite. */
  readonly attempts: readonly AttemptRow[];
  /** Attempt rows to delete: a start taken back moves to `releases`. */
  readonly droppedAttempts: readonly AttemptKey[];
  readonly releases: readonly ReleaseRow[];
  /**
   * True when losing these writes in a crash is harmless: a claim, a start, a heartbeat or a
   * retry promotion is redone or fenced off later (execution is at-least-once), so a store may
   * skip flushing them (PostgreSQL: `synchronous_commit = off`). Verdicts never are.
   */
  readonly relaxed: boolean;
}

/** What a plan function returns: the writes, the event lines logged with them, and the caller's answer. */
export interface Plan<T> {
  readonly writes: Writes;
  readonly events: readonly NewEvent[];
  readonly answer: T;
}

/** A plan that writes nothing. */
export function noChange<T>(answer: T): Plan<T> {
  return new Draft().plan(answer);
}

const attemptKey = (taskId: string, attempt: number): string => `${attempt}\u0000${taskId}`;

/**
 * The rows a plan has changed so far, over the rows it was given.
 *
 * @example
 * const draft = new Draft(graph);
 * draft.update(row, { status: 'blocked' });
 * draft.event(storeEvents.blocked(row.id, error, now));
 * return draft.plan([row.id]);
 */
export class Draft {
  private readonly added: AddedTask[] = [];
  private readonly changed = new Map<string, TaskRow>();
  private readonly attempts = new Map<string, AttemptRow | AttemptKey>();
  private readonly releases: ReleaseRow[] = [];
  private readonly events: NewEvent[] = [];

  /** @param graph rows a walk may visit besides those the plan updates (see {@link Subgraph}). */
  constructor(private readonly graph: Subgraph = NO_SUBGRAPH) {}

  /** The row `id` as this plan sees it: changed, or as given; undefined when the plan was not given it. */
  find(id: string): TaskRow | undefined {
    return this.changed.get(id) ?? this.graph.tasks.get(id);
  }

  /** The row `id` as this plan sees it; a row the plan must have been given (a store bug otherwise). */
  row(id: string): TaskRow {
    const row = this.find(id);
    if (row === undefined) throw new CoordError('INTERNAL', `a lifecycle plan was not given the row of task "${id}"`);
    return row;
  }

  /** The status of `id`; a task the plan was not given counts as complete (see {@link Subgraph}). */
  status(id: string): TaskStatus {
    return this.find(id)?.status ?? 'complete';
  }

  /** The dependents of `id` in submission order, as far as the plan was given them. */
  dependents(id: string): readonly string[] {
    return this.graph.dependents.get(id) ?? [];
  }

  /** Writes `changes` over `row` (or over this plan's newer version of it); returns the new row. */
  update(row: TaskRow, changes: Partial<Omit<TaskRow, 'id' | 'seq' | 'spec'>>): TaskRow {
    const next = { ...(this.changed.get(row.id) ?? row), ...changes };
    this.changed.set(row.id, next);
    return next;
  }

  /** Adds a new task (submission). */
  add(task: AddedTask): void {
    this.added.push(task);
  }

  /** Inserts or overwrites an attempt row. */
  putAttempt(row: AttemptRow): void {
    this.attempts.set(attemptKey(row.taskId, row.attempt), row);
  }

  /** Deletes an attempt row. */
  dropAttempt(taskId: string, attempt: number): void {
    this.attempts.set(attemptKey(taskId, attempt), { taskId, attempt });
  }

  /** Inserts a `releases` row. */
  release(row: ReleaseRow): void {
    this.releases.push(row);
  }

  /** Logs an event line, after those logged before it. */
  event(event: NewEvent): void {
    this.events.push(event);
  }

  /** The plan: every change so far, and `answer`. */
  plan<T>(answer: T, options: { relaxed?: boolean } = {}): Plan<T> {
    const attempts: AttemptRow[] = [];
    const droppedAttempts: AttemptKey[] = [];
    for (const write of this.attempts.values()) {
      if ('lease' in write) attempts.push(write);
      else droppedAttempts.push(write);
    }
    return {
      writes: {
        added: this.added,
        tasks: [...this.changed.values()],
        attempts,
        droppedAttempts,
        releases: this.releases,
        relaxed: options.relaxed ?? false,
      },
      events: this.events,
      answer,
    };
  }
}

/** A plan that writes nothing but `event`: a line the store's caller logs itself (`appendEvent`). */
export function planAppend(event: NewEvent): Plan<void> {
  const draft = new Draft();
  draft.event(event);
  return draft.plan(undefined);
}
