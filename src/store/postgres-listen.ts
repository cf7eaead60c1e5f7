/**
 * Hearing about other supervisors' changes: one dedicated connection LISTENing on the
 * store's channel (a pooled connection cannot LISTEN: it would be handed to someone else).
 * When the connection drops it is re-opened with backoff, and listeners are called once on
 * reconnecting, since notifications sent meanwhile are lost. Notifications this instance
 * sent itself are ignored.
 */
import pg from 'pg';
import { quoteIdent } from './postgres-schema.js';

const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 10_000;

/** The LISTEN side of one store instance. */
export class ChangeListener {
  private readonly listeners = new Set<() => void>();
  private client: pg.Client | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryMs = FIRST_RETRY_MS;
  private connecting: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly channel: string,
    private readonly instanceId: string,
  ) {}

  /** Adds `listener`; connects on the first one. Returns the unsubscribe. */
  add(listener: () => void): () => void {
    this.listeners.add(listener);
    void this.ensureConnected(false);
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) void this.disconnect();
    };
  }

  /** Resolves once the LISTEN is in place (tests wait for it before changing the queue). */
  async ready(): Promise<void> {
    await this.ensureConnected(false);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    await this.disconnect();
  }

  private ensureConnected(reconnecting: boolean): Promise<void> {
    if (this.client !== undefined || this.closed || this.listeners.size === 0) return Promise.resolve();
    this.connecting ??= this.connect(reconnecting).finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async connect(reconnecting: boolean): Promise<void> {
    // Named so an operator (or a test) can find the listening session in pg_stat_activity.
    const client = new pg.Client({ ...this.config, application_name: `coord-listen:${this.channel}`.slice(0, 63) });
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    client.on('notification', (message) => {
      if (message.channel === this.channel && message.payload !== this.instanceId) this.emit();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${quoteIdent(this.channel)}`);
      this.client = client;
      this.retryMs = FIRST_RETRY_MS;
      if (reconnecting) this.emit();
    } catch {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
      this.scheduleRetry();
    }
    if (this.closed || this.listeners.size === 0) await this.disconnect();
  }

  private lost(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = undefined;
    void client.end().catch(() => undefined);
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.closed || this.listeners.size === 0 || this.retryTimer !== undefined) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.ensureConnected(true);
    }, this.retryMs);
    this.retryTimer.unref();
    this.retryMs = Math.min(MAX_RETRY_MS, this.retryMs * 2);
  }

  private async disconnect(): Promise<void> {
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const client = this.client;
    this.client = undefined;
    if (client !== undefined) await client.end().catch(() => undefined);
  }

  private emit(): void {
    for (const listener of [...this.listeners]) listener();
  }
}
