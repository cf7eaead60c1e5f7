/**
 * Who may open the inspector page: `coord inspect` asks the daemon for a one-time link
 * (`/inspect?code=…`, valid once, for a minute); opening it trades the code for a session
 * kept in an HttpOnly, SameSite=Strict cookie and redirects to `/inspect`, so the secret is
 * never left in the address bar, the history or a script's reach. Sessions live as long as
 * the daemon. Pure but for the random values and the clock it is given.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';

/** The cookie holding an inspector session. */
export const INSPECT_COOKIE = 'coord_inspect';
/** How long a one-time code may wait to be used. */
export const CODE_TTL_MS = 60_000;

const digest = (value: string): Buffer => Buffer.from(value, 'utf8');
const same = (a: string, b: string): boolean => a.length === b.length && timingSafeEqual(digest(a), digest(b));

export class InspectSessions {
  private readonly codes = new Map<string, number>();
  private readonly sessions = new Set<string>();

  constructor(private readonly now: () => number = Date.now) {}

  /** A new one-time code. */
  issueCode(): string {
    this.prune();
    const code = randomBytes(24).toString('base64url');
    this.codes.set(code, this.now() + CODE_TTL_MS);
    return code;
  }

  /** Trades a code for a session (once); null for a code unknown, used or expired. */
  redeem(code: string): string | null {
    this.prune();
    for (const [known, expires] of this.codes) {
      if (!same(known, code)) continue;
      this.codes.delete(known);
      if (expires < this.now()) return null;
      const session = randomBytes(32).toString('base64url');
      this.sessions.add(session);
      return session;
    }
    return null;
  }

  /** True when the request's Cookie header holds a live session. */
  allows(cookieHeader: string | undefined): boolean {
    const session = cookieValue(cookieHeader, INSPECT_COOKIE);
    if (session === null) return false;
    for (const known of this.sessions) if (same(known, session)) return true;
    return false;
  }

  private prune(): void {
    const now = this.now();
    for (const [code, expires] of this.codes) if (expires < now) this.codes.delete(code);
  }
}

/** The value of cookie `name` in a Cookie header, or null. */
export function cookieValue(header: string | undefined, name: string): string | null {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return null;
}

/** The Set-Cookie header of a session: HttpOnly, SameSite=Strict, only for the inspector's paths. */
export function sessionCookie(session: string): string {
  return `${INSPECT_COOKIE}=${encodeURIComponent(session)}; HttpOnly; SameSite=Strict; Path=/inspect`;
}
