/**
 * Transactions on the PostgreSQL pool, and what its errors mean to coord. A transaction that
 * loses a deadlock or a serialization check is retried from the start (its body is written to
 * be re-runnable: it reads everything it decides on inside the transaction); a lost or
 * refused connection becomes `STORE_UNAVAILABLE`.
 */
import type { Pool, PoolClient } from 'pg';
import { CoordError, isCoordError } from '../errors.js';

/** SQLSTATEs worth retrying the whole transaction for: serialization failure, deadlock. */
const RETRYABLE = new Set(['40001', '40P01']);
const MAX_TRIES = 8;

/** Node socket errors and SQLSTATE classes that mean "the server is not there for us". */
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'ETIMEDOUT', 'EHOSTUNREACH', 'EAI_AGAIN', 'EPIPE']);
const UNAVAILABLE_SQLSTATE = /^(08|28|3D|53|57P)/;

function codeOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** True when `error` says the database cannot be reached or refused the connection. */
export function isUnavailable(error: unknown): boolean {
  const code = codeOf(error);
  if (code !== undefined && (UNAVAILABLE_CODES.has(code) || UNAVAILABLE_SQLSTATE.test(code))) return true;
  const message = error instanceof Error ? error.message : '';
  return /Connection terminated|timeout expired|connect ECONNREFUSED/i.test(message);
}

/** `STORE_UNAVAILABLE` for connection trouble; other errors unchanged. */
export function mapPgError(error: unknown, where: string): unknown {
  if (isCoordError(error) || !isUnavailable(error)) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new CoordError('STORE_UNAVAILABLE', `the PostgreSQL store at ${where} is unavailable: ${reason}`, {
    cause: error,
    details: { where, code: codeOf(error) },
  });
}

/** A client from `pool`, with connection failures mapped. */
export async function connectClient(pool: Pool, where: string): Promise<PoolClient> {
  try {
    return await pool.connect();
  } catch (error) {
    throw mapPgError(error, where);
  }
}

/**
 * Runs `body` in a transaction (READ COMMITTED: each statement sees the latest committed
 * rows; the bodies lock what they decide on with FOR UPDATE / FOR SHARE). Retries on
 * deadlock and serialization failure.
 */
export async function inTransaction<T>(
  pool: Pool,
  where: string,
  body: (client: PoolClient) => Promise<T>,
  begin = 'BEGIN',
): Promise<T> {
  for (let tries = 1; ; tries++) {
    const client = await connectClient(pool, where);
    let broken = false;
    try {
      await client.query(begin);
      const result = await body(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      if (tries < MAX_TRIES && RETRYABLE.has(codeOf(error) ?? '')) continue;
      throw mapPgError(error, where);
    } finally {
      client.release(broken);
    }
  }
}

/** For reads spanning several statements: one consistent snapshot, no locks. */
export const READ_SNAPSHOT = 'BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY';

/** Runs one statement outside an explicit transaction. */
export async function queryRows<R extends object>(pool: Pool, where: string, text: string, values: unknown[] = []): Promise<R[]> {
  try {
    return (await pool.query<R>(text, values)).rows;
  } catch (error) {
    throw mapPgError(error, where);
  }
}
