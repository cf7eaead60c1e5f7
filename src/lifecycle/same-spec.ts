/**
 * Spec identity for re-submission: submitting the same task twice (a retried HTTP call, a
 * file dropped twice) must be a no-op, while a different spec under a known id is an error.
 */

/** True when `a` and `b` serialise to the same JSON once object keys are sorted at every level. */
export function isSameSpec(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/** JSON with object keys sorted at every level, so key order never makes two specs differ. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) => {
    if (inner === null || typeof inner !== 'object' || Array.isArray(inner)) return inner;
    const entries = Object.entries(inner).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
    return Object.fromEntries(entries);
  });
}
