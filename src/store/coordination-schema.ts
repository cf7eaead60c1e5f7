/**
 * The coordination tables (schema version 5), the same on SQLite and PostgreSQL but for the
 * schema prefix and the float type: `spend` (USD per budget scope: `global`, `worker:<id>`,
 * `task:<id>`; a restart does not reset it) and `merges` (each task's merge-queue state, so
 * a restarted supervisor neither merges a branch twice nor forgets a verdict). Times are
 * epoch ms integers; JSON is text.
 */
export function coordinationMigration(prefix: string, float: 'REAL' | 'DOUBLE PRECISION'): string[] {
  return [
    `CREATE TABLE ${prefix}spend (
      scope TEXT PRIMARY KEY,
      usd ${float} NOT NULL,
      updated_at BIGINT NOT NULL
    )`,
    `CREATE TABLE ${prefix}merges (
      task_id TEXT PRIMARY KEY,
      status TEXT NOT NULL,
      state TEXT NOT NULL,
      updated_at BIGINT NOT NULL
    )`,
  ];
}
