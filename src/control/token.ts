/**
 * The HTTP API's bearer token: made on the daemon's first start in `<state-dir>/http.token`
 * (mode 0600, 32 random bytes as hex) and kept across restarts, so scripts that read it once
 * go on working. Compared in constant time.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** The token file of a state directory. */
export function tokenFileOf(stateDir: string): string {
  return path.join(stateDir, 'http.token');
}

/** Reads the state directory's token, creating it (0600) when there is none. */
export function ensureToken(stateDir: string): string {
  const file = tokenFileOf(stateDir);
  try {
    const existing = readFileSync(file, 'utf8').trim();
    if (/^[0-9a-f]{64}$/.test(existing)) {
      chmodSync(file, 0o600);
      return existing;
    }
  } catch {
    // none yet: made below
  }
  const token = randomBytes(32).toString('hex');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return token;
}

/** Whether an `Authorization` header carries `token` (`Bearer <token>`). */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const presented = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1];
  if (presented === undefined) return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}
