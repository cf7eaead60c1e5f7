/**
 * The PostgreSQL store's tables as an operation sees them, on the client of one transaction:
 * the reads it makes ({@link AsyncRowReads}; each locks what the operation decides on, see
 * postgres-sql.ts) and the writes its plans produce, in one statement per plan.
 */
import type { PoolClient } from 'pg';
import { normalizeNeeds } from '../lifecycle/capabilities.js';
import type { Subgraph, TaskRow, TaskRows } from '../lifecycle/rows.js';
import type { TaskRecord } from '../lifecycle/task-record.js';
import type { Changes } from './operation.js';
import { readRecords } from './postgres-reads.js';
import { decodePgTask, decodePgTaskRows, type PgTaskRow, type PgTaskWithAttempts } from './postgres-rows.js';
import { applyValues, insertTasksValues, type NotifyTarget, type PostgresSql } from './postgres-sql.js';
import { dependentsByTask } from './row-codec.js';
import type { AsyncRowReads } from './row-reads.js';

/** One schema's tables, through the client `c` of the current transaction. */
export class PostgresTables implements AsyncRowReads {
  constructor(
    private readonly c: PoolClient,
    private readonly sql: PostgresSql,
    private readonly schema: string,
    private readonly target: NotifyTarget,
  ) {}

  async named(ids: readonly string[]): Promise<TaskRow[]> {
    await this.c.query(this.sql.submitLock, [`coord-submit:${this.schema}`]);
    return this.rows(this.sql.named, [ids]);
  }

  async lastSeq(): Promise<number> {
    return Number((await this.c.query<{ seq: string }>(this.sql.maxSeq)).rows[0]?.seq ?? 0);
  }

  async task(id: string): Promise<TaskRows | undefined> {
    return (await this.withAttempts(this.sql.lockTask, [id]))[0];
  }

  async leased(id: string, lease: string): Promise<TaskRows | undefined> {
    return (await this.withAttempts(this.sql.fenced, [id, lease]))[0];
  }

  holding(leases: readonly string[]): Promise<TaskRow[]> {
    return this.rows(this.sql.holding, [leases]);
  }

  heldBy(nodeId: string): Promise<TaskRows[]> {
    return this.withAttempts(this.sql.heldBy, [nodeId]);
  }

  expired(now: number): Promise<TaskRows[]> {
    return this.withAttempts(this.sql.expired, [now]);
  }

  due(now: number): Promise<TaskRow[]> {
    return this.rows(this.sql.due, [now]);
  }

  async pick(capabilities: readonly string[], taskId: string | undefined, now: number): Promise<TaskRow | undefined> {
    const caps = normalizeNeeds(capabilities);
    const rows = taskId === undefined
      ? await this.rows(this.sql.pickBest, [caps, now])
      : await this.rows(this.sql.pickExact, [caps, now, taskId]);
    return rows[0];
  }

  async dependents(id: string): Promise<TaskRow[]> {
    // Locked in id order (no deadlock between two completions sharing dependents), answered in submission order.
    return (await this.rows(this.sql.dependentRows, [id])).sort((a, b) => a.seq - b.seq);
  }

  async blockReach(ids: readonly string[]): Promise<Subgraph> {
    const tasks = new Map((await this.rows(this.sql.blockReach, [ids])).map((row) => [row.id, row]));
    return { tasks, dependents: await this.edgesFrom([...tasks.keys()]) };
  }

  async unblockReach(id: string): Promise<Subgraph> {
    const down = await this.rows(this.sql.unblockReach, [id]);
    const downIds = down.map((row) => row.id);
    // Whether a task can complete again depends on all its dependencies, downstream or not.
    const deps = await this.rows(this.sql.depRows, [downIds]);
    return { tasks: new Map([...deps, ...down].map((row) => [row.id, row])), dependents: await this.edgesFrom([id, ...downIds]) };
  }

  async record(id: string): Promise<TaskRecord | undefined> {
    return (await readRecords(this.c, this.sql.recordsByIds, [[id]]))[0];
  }

  ready(now: number, limit: number): Promise<TaskRecord[]> {
    return readRecords(this.c, this.sql.readyRecords, [now, limit]);
  }

  /** Writes a plan's changes and logs its events: new tasks first (a submission), then the rest in one statement. */
  async apply(changes: Changes): Promise<void> {
    const { writes, events } = changes;
    const { added } = writes;
    if (added.length > 0) {
      await this.c.query(this.sql.insertTasks, insertTasksValues(added.map((task) => task.row)));
      const edges = added.flatMap((task) => task.deps.map((dep) => [task.row.id, dep]));
      if (edges.length > 0) await this.c.query(this.sql.insertDeps, [edges.map((e) => e[0]), edges.map((e) => e[1])]);
    }
    const rest = writes.tasks.length + writes.attempts.length + writes.droppedAttempts.length + writes.releases.length + events.length;
    if (rest === 0 && added.length === 0) return;
    await this.c.query({ name: `coord-apply:${this.schema}`, text: this.sql.apply, values: applyValues(changes, this.target) });
  }

  private async rows(text: string, values: unknown[]): Promise<TaskRow[]> {
    return (await this.c.query<PgTaskRow>(text, values)).rows.map(decodePgTask);
  }

  private async withAttempts(text: string, values: unknown[]): Promise<TaskRows[]> {
    return (await this.c.query<PgTaskWithAttempts>(text, values)).rows.map(decodePgTaskRows);
  }

  /** The dependents of each of `ids`, in submission order. */
  private async edgesFrom(ids: readonly string[]): Promise<Map<string, string[]>> {
    return dependentsByTask((await this.c.query<{ dep_id: string; task_id: string }>(this.sql.edgesFrom, [ids])).rows);
  }
}
