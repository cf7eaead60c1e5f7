/**
 * Checks that a module handler's return value survives the trip to the supervisor as JSON.
 * `JSON.stringify` throws on cycles and BigInts but silently turns a Map into `{}`, drops
 * functions and turns `NaN` into `null`; a result that changed on the way is worse than an
 * error, so those are refused too. Values with a `toJSON` (a Date) are taken at their word.
 */

/** The JSON form of a value, or why it has none. */
export type JsonCheck = { ok: true; value: unknown } | { ok: false; reason: string };

/**
 * Returns the value as it will arrive after a JSON round trip, or why it cannot make one.
 * A top-level `undefined` (a handler that returns nothing) becomes `null`.
 *
 * @example
 * toJsonValue({ files: 3 });      // { ok: true, value: { files: 3 } }
 * toJsonValue(new Map());          // { ok: false, reason: '(result): a Map does not survive JSON' }
 */
export function toJsonValue(value: unknown): JsonCheck {
  if (value === undefined) return { ok: true, value: null };
  const lossy = findLossy(value, '(result)', []);
  if (lossy !== null) return { ok: false, reason: lossy };
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  }
  if (text === undefined) return { ok: false, reason: `(result): ${typeof value} has no JSON form` };
  return { ok: true, value: JSON.parse(text) as unknown };
}

// Walks own enumerable properties the way JSON.stringify does; `ancestors` detects cycles
// with a path in the message, which is more useful than stringify's "circular structure".
function findLossy(value: unknown, at: string, ancestors: object[]): string | null {
  switch (typeof value) {
    case 'bigint':
    case 'function':
    case 'symbol':
      return `${at}: a ${typeof value} does not survive JSON`;
    case 'number':
      return Number.isFinite(value) ? null : `${at}: ${String(value)} does not survive JSON`;
    case 'object':
      break;
    default:
      return null;
  }
  if (value === null) return null;
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return null;
  if (value instanceof Map || value instanceof Set || value instanceof WeakMap || value instanceof WeakSet) {
    return `${at}: a ${value.constructor.name} does not survive JSON`;
  }
  if (ancestors.includes(value)) return `${at}: circular reference`;
  ancestors.push(value);
  try {
    const entries: Array<[string, unknown]> = Array.isArray(value)
      ? value.map((item, index) => [String(index), item])
      : Object.entries(value);
    for (const [key, item] of entries) {
      // JSON drops undefined properties (and writes null in arrays): a documented, expected
      // conversion for optional fields, so it is allowed.
      if (item === undefined) continue;
      const found = findLossy(item, Array.isArray(value) ? `${at}[${key}]` : `${at}.${key}`, ancestors);
      if (found !== null) return found;
    }
    return null;
  } finally {
    ancestors.pop();
  }
}
