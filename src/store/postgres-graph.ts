/**
 * The graph walks' views for PostgreSQL. A walk run statement by statement would cost a round
 * trip per task; instead the affected subgraph (found with one recursive query) and its edges
 * are read up front, in three statements whatever its size, and the shared pure walks of
 * graph-walk.ts run over it in memory.
 */
import type { PoolClient } from 'pg';
import type { GraphView, UnblockView } from '../queue/graph-walk.js';
import type { TaskStatus } from '../queue/task-record.js';
import type { PostgresSql } from './postgres-sql.js';
import { groupBy } from './task-rows.js';

interface NodeRow {
  id: string;
  status: string;
  error_code: string | null;
}

/** Dependents (submission order) of each of `ids`. */
async function dependentsOf(client: PoolClient, sql: PostgresSql, ids: string[]): Promise<Map<string, string[]>> {
  const rows = (await client.query<{ dep_id: string; task_id: string }>(sql.dependentsOfMany, [ids])).rows;
  const grouped = groupBy(rows, (row) => row.dep_id);
  return new Map([...grouped].map(([id, edges]) => [id, edges.map((edge) => edge.task_id)]));
}

/**
 * The view for blocking from `startIds`: the tasks reachable through tasks that are not
 * terminal. A task outside it counts as terminal, which is what the walk needs to know.
 */
export async function loadBlockView(client: PoolClient, sql: PostgresSql, startIds: readonly string[]): Promise<GraphView> {
  const nodes = (await client.query<NodeRow>(sql.blockReach, [startIds])).rows;
  const status = new Map(nodes.map((node) => [node.id, node.status as TaskStatus]));
  const dependents = await dependentsOf(client, sql, [...status.keys()]);
  return {
    status: (id) => status.get(id) ?? 'complete',
    dependents: (id) => dependents.get(id) ?? [],
  };
}

/**
 * The view for unblocking after `rootId` was redriven (its status now `ready`): every task
 * downstream of it, with each one's dependencies and their statuses.
 */
export async function loadUnblockView(client: PoolClient, sql: PostgresSql, rootId: string): Promise<UnblockView> {
  const nodes = (await client.query<NodeRow>(sql.fullReach, [[rootId]])).rows;
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const ids = [...byId.keys()];
  const dependents = await dependentsOf(client, sql, ids);
  const depRows = (await client.query<{ task_id: string; dep_id: string; status: string }>(sql.depsOfMany, [ids])).rows;
  const depStatus = new Map(depRows.map((row) => [row.dep_id, row.status as TaskStatus]));
  const deps = groupBy(depRows, (row) => row.task_id);
  const statusOf = (id: string): TaskStatus => {
    if (id === rootId) return 'ready';
    return (byId.get(id)?.status as TaskStatus | undefined) ?? depStatus.get(id) ?? 'complete';
  };
  return {
    status: statusOf,
    dependents: (id) => dependents.get(id) ?? [],
    errorCode: (id) => byId.get(id)?.error_code ?? null,
    deps: (id) => (deps.get(id) ?? []).map((row) => row.dep_id),
  };
}
