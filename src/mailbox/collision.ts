/**
 * The collision policy, pure: a message is typed into a live session only when the session
 * has been quiet (no output) for `quietWindowMs`; a busy one is re-checked every
 * `recheckMs`, and after `maxDeferMs` of deferring the delivery falls back to its next route.
 */
export interface CollisionPolicy {
  /** Silence needed before typing (default 20 s). */
  quietWindowMs: number;
  /** How often a busy session is looked at again (default 5 s). */
  recheckMs: number;
  /** How long a delivery may be put off before it falls back (default 60 s). */
  maxDeferMs: number;
}

export const DEFAULT_COLLISION_POLICY: CollisionPolicy = { quietWindowMs: 20_000, recheckMs: 5_000, maxDeferMs: 60_000 };

export type CollisionVerdict = { action: 'defer'; nextAt: number; since: number } | { action: 'give-up'; deferredMs: number };

/**
 * What to do with a delivery the session refused as busy at `now`: defer (again) until the
 * next re-check, or give up once it has been deferred since `deferredSince` for `maxDeferMs`.
 */
export function onBusy(deferredSince: number | null, now: number, policy: CollisionPolicy): CollisionVerdict {
  const since = deferredSince ?? now;
  const waited = now - since;
  if (waited >= policy.maxDeferMs) return { action: 'give-up', deferredMs: waited };
  return { action: 'defer', since, nextAt: now + Math.min(policy.recheckMs, policy.maxDeferMs - waited) };
}
