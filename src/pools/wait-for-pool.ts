/**
 * Waiting for a pool to be ready before routing work to it: the pool's status is looked at
 * every `pollMs` (default 5 s, as an orchestrator polling `GET /pools/{id}/status` would)
 * and, where the caller can hear them, at each change of its readiness. Used in-process by
 * `supervisor.waitForPool` and over HTTP by {@link waitForPoolAt}.
 */
import { CoordError, isCoordError } from '../errors.js';
import type { PoolStatus } from './readiness.js';

export interface WaitForPoolOptions {
  /** How often the pool is looked at; default 5000 ms. */
  pollMs?: number;
  /** Give up after this long (`POOL_NOT_READY`); default: as long as it takes. */
  timeoutMs?: number;
  /** Aborting stops the wait (it rejects with the signal's reason). */
  signal?: AbortSignal;
}

export const DEFAULT_POOL_POLL_MS = 5_000;

/**
 * Resolves with the first status `look` gives that is ready. A CoordError from `look` that is
 * the caller's to fix (`POOL_NOT_FOUND`, `UNAUTHORIZED`, `NOT_RUNNING`) ends the wait; others
 * (a daemon restarting, a refused connection) are looked past until the next poll.
 */
export function pollPoolReady(
  id: string,
  look: () => Promise<PoolStatus>,
  options: WaitForPoolOptions & { changes?: (listener: () => void) => () => void } = {},
): Promise<PoolStatus> {
  const pollMs = options.pollMs ?? DEFAULT_POOL_POLL_MS;
  if (!Number.isInteger(pollMs) || pollMs < 1) return Promise.reject(new CoordError('USAGE', `pollMs must be a positive integer, not ${String(pollMs)}`));
  return new Promise<PoolStatus>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    let looking = false;
    let again = false;
    let done = false;
    const cleanups: Array<() => void> = [];
    const finish = (end: () => void): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      for (const cleanup of cleanups) cleanup();
      end();
    };
    const check = async (): Promise<void> => {
      if (done) return;
      if (looking) {
        again = true;
        return;
      }
      looking = true;
      clearTimeout(timer);
      try {
        const status = await look();
        if (status.ready) return finish(() => resolve(status));
      } catch (error) {
        if (isCoordError(error) && ['POOL_NOT_FOUND', 'UNAUTHORIZED', 'NOT_RUNNING', 'BAD_REQUEST'].includes(error.code)) return finish(() => reject(error));
      } finally {
        looking = false;
      }
      if (done) return;
      if (again) {
        again = false;
        void check();
        return;
      }
      timer = setTimeout(() => void check(), pollMs);
    };
    if (options.timeoutMs !== undefined) {
      const deadline = setTimeout(() => finish(() => reject(new CoordError('POOL_NOT_READY', `pool "${id}" was not ready within ${options.timeoutMs} ms`, { details: { pool: id } }))), options.timeoutMs);
      cleanups.push(() => clearTimeout(deadline));
    }
    if (options.signal !== undefined) {
      const { signal } = options;
      if (signal.aborted) return finish(() => reject(signal.reason));
      const onAbort = (): void => finish(() => reject(signal.reason));
      signal.addEventListener('abort', onAbort, { once: true });
      cleanups.push(() => signal.removeEventListener('abort', onAbort));
    }
    if (options.changes !== undefined) cleanups.push(options.changes(() => void check()));
    void check();
  });
}

/**
 * Waits for a pool of a daemon reached over HTTP (`url` as `coord daemon status` gives it,
 * `token` from `<state-dir>/http.token`), polling `GET /pools/{id}/status`.
 *
 * @example
 * const pool = await waitForPoolAt('http://127.0.0.1:7700', token, 'agents', { pollMs: 5000 });
 */
export function waitForPoolAt(url: string, token: string, id: string, options: WaitForPoolOptions = {}): Promise<PoolStatus> {
  const target = `${url.replace(/\/+$/, '')}/pools/${encodeURIComponent(id)}/status`;
  return pollPoolReady(id, async () => {
    const response = await fetch(target, { headers: { authorization: `Bearer ${token}` }, ...(options.signal ? { signal: options.signal } : {}) });
    const body = (await response.json()) as PoolStatus | { error: { code: string; message: string } };
    if ('error' in body) {
      const code = ['POOL_NOT_FOUND', 'UNAUTHORIZED', 'NOT_RUNNING', 'BAD_REQUEST'].includes(body.error.code) ? body.error.code : 'INTERNAL';
      throw new CoordError(code as 'INTERNAL', body.error.message);
    }
    return body;
  }, options);
}
