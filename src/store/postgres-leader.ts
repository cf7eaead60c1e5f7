/**
 * Electing the one supervisor that reaps expired leases: a session-level
 * `pg_try_advisory_lock` taken on a dedicated connection and held for as long as that
 * connection lives. When the leader's process dies, or its connection drops, the server
 * releases the lock and the next supervisor to ask becomes the leader. The connection's
 * `application_name` names the node, so `pg_stat_activity` shows who leads.
 */
import pg from 'pg';
import { mapPgError } from './postgres-tx.js';

/** The reaper election of one store instance. */
export class ReaperLeader {
  private client: pg.Client | undefined;
  private leading = false;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly lockKey: string,
    private readonly where: string,
  ) {}

  /** True when this instance holds (or just took) the reaper lock. */
  async tryLead(nodeId: string): Promise<boolean> {
    if (this.leading && this.client !== undefined) return true;
    try {
      const client = this.client ?? (await this.connect(nodeId));
      const result = await client.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(hashtext($1)) AS ok`, [this.lockKey]);
      this.leading = result.rows[0]?.ok === true;
      return this.leading;
    } catch (error) {
      this.drop();
      throw mapPgError(error, this.where);
    }
  }

  /** Ends the connection, which releases the lock. */
  async close(): Promise<void> {
    const client = this.client;
    this.drop();
    if (client !== undefined) await client.end().catch(() => undefined);
  }

  private async connect(nodeId: string): Promise<pg.Client> {
    const client = new pg.Client({ ...this.config, application_name: `coord-reaper:${nodeId}`.slice(0, 63) });
    client.on('error', () => {
      if (this.client === client) this.drop();
    });
    client.on('end', () => {
      if (this.client === client) this.drop();
    });
    await client.connect();
    this.client = client;
    return client;
  }

  private drop(): void {
    this.client = undefined;
    this.leading = false;
  }
}
