/**
 * One live supervisor per node id on a shared PostgreSQL queue: a session-level advisory
 * lock on the node id, taken on a dedicated connection and held for as long as that
 * connection lives. The server drops it when the holder's process dies (its connection
 * closes), so a supervisor that gets it knows that whatever its node held in flight belongs
 * to nobody alive, and may release it. The connection's `application_name` carries the
 * holder's pid and host, so a refused supervisor (and `pg_stat_activity`) can name it.
 */
import pg from 'pg';
import { CoordError } from '../errors.js';
import type { LockHolder } from '../locks/file-lock.js';
import { mapPgError } from './postgres-tx.js';

const APP_PREFIX = 'coord-node:';

/** `coord-node:<pid>@<host>:<nodeId>`, cut to PostgreSQL's 63 bytes. */
function applicationName(holder: LockHolder): string {
  return `${APP_PREFIX}${holder.pid}@${holder.host}:${holder.nodeId}`.slice(0, 63);
}

/** Who holds `nodeId`'s lock, read back from the holder's `application_name`. */
async function findHolder(client: pg.Client, nodeId: string): Promise<{ pid: number; host: string } | null> {
  const rows = await client.query<{ name: string }>(
    `SELECT application_name AS name FROM pg_stat_activity WHERE application_name LIKE $1 AND pid <> pg_backend_pid()`,
    [`${APP_PREFIX}%`],
  );
  for (const { name } of rows.rows) {
    const match = /^coord-node:(\d+)@([^:]*):(.*)$/.exec(name);
    if (match && nodeId.startsWith(match[3] ?? '\u0000')) return { pid: Number(match[1]), host: match[2] ?? '' };
  }
  return null;
}

/**
 * Takes `holder.nodeId`'s lock in `schema`; throws `STATE_LOCKED` naming the live holder.
 * Resolves with a function that releases it (ending the connection).
 */
export async function holdPostgresNode(config: pg.ClientConfig, schema: string, holder: LockHolder, where: string): Promise<() => Promise<void>> {
  const client = new pg.Client({ ...config, application_name: applicationName(holder) });
  // An error on an idle connection must not crash the process; the lock is then gone, which
  // the leases (and the reaper) still fence.
  client.on('error', () => undefined);
  try {
    await client.connect();
    const { rows } = await client.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(hashtext($1)) AS ok`, [`coord-node:${schema}:${holder.nodeId}`]);
    if (rows[0]?.ok !== true) {
      const other = await findHolder(client, holder.nodeId);
      const who = other ? `pid ${other.pid} on ${other.host}` : 'a live supervisor';
      throw new CoordError('STATE_LOCKED', `node ${holder.nodeId} of the PostgreSQL store ${where} is in use by another coord supervisor, ${who}: `
        + 'stop it first, or give this supervisor its own --node-id', {
        details: { holderPid: other?.pid ?? null, holderNodeId: holder.nodeId, holderHost: other?.host ?? null },
      });
    }
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error instanceof CoordError ? error : mapPgError(error, where);
  }
  return () => client.end().catch(() => undefined);
}
