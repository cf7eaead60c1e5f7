/**
 * Lease tokens: opaque, unguessable, unique. A lease fences every later report about an
 * attempt, so a token must never repeat across processes or hosts: 144 random bits from the
 * OS, not the injectable jitter source (which tests seed, and which two processes could share).
 */
import { randomBytes } from 'node:crypto';

/** A fresh lease token (24 URL-safe characters). */
export function newLease(): string {
  return randomBytes(18).toString('base64url');
}
