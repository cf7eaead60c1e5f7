/**
 * The mailbox's tables (schema version 4), the same on SQLite and PostgreSQL but for the
 * schema prefix and the id column: one `threads` row per agent task that has a thread (the
 * latest message number, the current session and its read cursor, the loop safeguard's
 * state), its `messages`, every session's `cursors`, the `triggers` (one delivery each, at
 * most one open per task) and every `trigger_attempts` row with its reason code. Times are
 * epoch ms integers; JSON is text.
 */
export function mailboxMigration(prefix: string, idColumn: string): string[] {
  const t = (name: string) => `${prefix}${name}`;
  return [
    `CREATE TABLE ${t('threads')} (
      task_id TEXT PRIMARY KEY,
      latest_seq INTEGER NOT NULL DEFAULT 0,
      read_seq INTEGER NOT NULL DEFAULT 0,
      session_id TEXT,
      session_at BIGINT,
      loop TEXT,
      overrides TEXT,
      updated_at BIGINT NOT NULL
    )`,
    `CREATE INDEX threads_unread ON ${t('threads')} (task_id) WHERE latest_seq > read_seq`,
    `CREATE TABLE ${t('messages')} (
      task_id TEXT NOT NULL,
      seq INTEGER NOT NULL,
      at BIGINT NOT NULL,
      source TEXT NOT NULL,
      text TEXT NOT NULL,
      meta TEXT,
      PRIMARY KEY (task_id, seq)
    )`,
    `CREATE TABLE ${t('cursors')} (
      task_id TEXT NOT NULL,
      session_id TEXT NOT NULL,
      read_seq INTEGER NOT NULL,
      at BIGINT NOT NULL,
      PRIMARY KEY (task_id, session_id)
    )`,
    `CREATE TABLE ${t('triggers')} (
      ${idColumn},
      task_id TEXT NOT NULL,
      upto_seq INTEGER NOT NULL,
      status TEXT NOT NULL,
      chain TEXT NOT NULL,
      tries INTEGER NOT NULL DEFAULT 0,
      failures INTEGER NOT NULL DEFAULT 0,
      next_at BIGINT NOT NULL,
      deferred_since BIGINT,
      lease TEXT,
      node TEXT,
      lease_expires_at BIGINT,
      route TEXT,
      last_code TEXT,
      last_message TEXT,
      created_at BIGINT NOT NULL,
      updated_at BIGINT NOT NULL
    )`,
    `CREATE UNIQUE INDEX triggers_open ON ${t('triggers')} (task_id) WHERE status IN ('pending', 'claimed', 'awaiting')`,
    `CREATE INDEX triggers_due ON ${t('triggers')} (next_at) WHERE status IN ('pending', 'claimed')`,
    `CREATE TABLE ${t('trigger_attempts')} (
      trigger_id BIGINT NOT NULL,
      n INTEGER NOT NULL,
      at BIGINT NOT NULL,
      node TEXT,
      stage TEXT NOT NULL,
      outcome TEXT NOT NULL,
      code TEXT NOT NULL,
      detail TEXT,
      PRIMARY KEY (trigger_id, n)
    )`,
  ];
}
