/**
 * Where the durable peers live: BullMQ on the local Redis and pg-boss on the local
 * PostgreSQL (the servers DEVELOPERS.md describes). Overridable for another machine.
 */
import os from 'node:os';

/** Redis for BullMQ: `BENCH_REDIS_HOST` / `BENCH_REDIS_PORT`, default 127.0.0.1:6379. */
export const redisConnection = {
  host: process.env.BENCH_REDIS_HOST ?? '127.0.0.1',
  port: Number(process.env.BENCH_REDIS_PORT ?? 6379),
  // BullMQ workers block on Redis; a benchmark must fail fast instead of retrying forever.
  maxRetriesPerRequest: null,
  retryStrategy: (times: number): number | null => (times > 3 ? null : 200),
};

/** PostgreSQL for pg-boss: the standard PG* variables, default 127.0.0.1:5432, database `test`, the OS user. */
export const postgresConnection = {
  host: process.env.PGHOST ?? '127.0.0.1',
  port: Number(process.env.PGPORT ?? 5432),
  database: process.env.PGDATABASE ?? 'test',
  user: process.env.PGUSER ?? os.userInfo().username,
  ...(process.env.PGPASSWORD === undefined ? {} : { password: process.env.PGPASSWORD }),
};
