/**
 * Turning XState's inspection events into the stream's messages (src/inspect/types.ts):
 * snapshots and events made JSON-safe and bounded — no functions, no cycles, no actor
 * objects (an actor becomes `{ "actor": sessionId }`), long strings, arrays and objects cut
 * with a marker — and scrubbed of secrets: a value under a key that names a token, a secret,
 * a password, a key, a cookie or an environment is replaced by `[redacted]`, and so is any
 * string that looks like a bearer token or an API key. Pure.
 */
import { randomUUID } from 'node:crypto';
import type { AnyActorRef, InspectionEvent } from 'xstate';
import { INSPECT_PROTOCOL_VERSION, type InspectedSnapshot, type StatelyInspectionEvent } from './types.js';

/** How much of a value is kept. */
export interface Bounds {
  maxDepth: number;
  maxString: number;
  maxArray: number;
  maxKeys: number;
}

export const DEFAULT_BOUNDS: Bounds = { maxDepth: 6, maxString: 2_000, maxArray: 50, maxKeys: 60 };

const REDACTED = '[redacted]';
/** Keys whose values are secrets, or may hold them (an environment holds API keys). */
const SECRET_KEY = /(token|secret|passw|api[-_]?key|authori[sz]ation|cookie|credential|private[-_]?key|^env$|environment)/i;
/** Strings that are secrets whatever their key: bearer tokens, API keys of the usual shapes. */
const SECRET_VALUE = /^(bearer\s+\S+|sk-[A-Za-z0-9_-]{8,}|sk-ant-[A-Za-z0-9_-]+|gh[pousr]_[A-Za-z0-9]{16,}|xox[abp]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16})/i;

function isActorRef(value: object): value is AnyActorRef {
  return 'sessionId' in value && 'send' in value && typeof (value as { send: unknown }).send === 'function';
}

/**
 * `value` as JSON-safe data within `bounds`, secrets replaced.
 *
 * @example
 * jsonSafe({ token: 'abc', n: 1, f() {} }) // → { token: '[redacted]', n: 1 }
 */
export function jsonSafe(value: unknown, bounds: Bounds = DEFAULT_BOUNDS): unknown {
  const seen = new WeakSet<object>();
  const walk = (v: unknown, depth: number): unknown => {
    switch (typeof v) {
      case 'string':
        if (SECRET_VALUE.test(v)) return REDACTED;
        return v.length > bounds.maxString ? `${v.slice(0, bounds.maxString)}… [${v.length - bounds.maxString} more chars]` : v;
      case 'number':
        return Number.isFinite(v) ? v : String(v);
      case 'boolean':
        return v;
      case 'bigint':
        return v.toString();
      case 'undefined':
      case 'function':
      case 'symbol':
        return undefined;
    }
    if (v === null) return null;
    const object = v as object;
    if (isActorRef(object)) return { actor: object.sessionId };
    if (seen.has(object)) return '[cycle]';
    if (depth >= bounds.maxDepth) return '[…]';
    seen.add(object);
    try {
      if (object instanceof Error) return { name: object.name, message: walk(object.message, depth + 1) };
      if (object instanceof Date) return object.toISOString();
      if (object instanceof Map) return walk(Object.fromEntries(object), depth);
      if (object instanceof Set) return walk([...object], depth);
      if (Array.isArray(object)) {
        const items = object.slice(0, bounds.maxArray).map((item) => walk(item, depth + 1) ?? null);
        if (object.length > bounds.maxArray) items.push(`… [${object.length - bounds.maxArray} more]`);
        return items;
      }
      if (ArrayBuffer.isView(object)) return `[${object.byteLength} bytes]`;
      const out: Record<string, unknown> = {};
      const keys = Object.keys(object);
      for (const key of keys.slice(0, bounds.maxKeys)) {
        const item = (object as Record<string, unknown>)[key];
        if (SECRET_KEY.test(key)) {
          if (item !== undefined && item !== null) out[key] = REDACTED;
          continue;
        }
        const safe = walk(item, depth + 1);
        if (safe !== undefined) out[key] = safe;
      }
      if (keys.length > bounds.maxKeys) out['…'] = `${keys.length - bounds.maxKeys} more keys`;
      return out;
    } finally {
      seen.delete(object);
    }
  };
  return walk(value, 0);
}

/** The parts of a snapshot the stream carries: status, state value (machines), context. */
export function inspectedSnapshot(snapshot: unknown, bounds: Bounds = DEFAULT_BOUNDS): InspectedSnapshot {
  const s = (snapshot ?? {}) as { status?: InspectedSnapshot['status']; value?: unknown; context?: unknown };
  return {
    status: s.status ?? 'active',
    ...(s.value === undefined ? {} : { value: jsonSafe(s.value, bounds) }),
    ...(s.context === undefined ? {} : { context: jsonSafe(s.context, bounds) }),
  };
}

const definitions = new WeakMap<object, string | undefined>();

/**
 * A machine actor's definition: its `createMachine()` config as JSON, functions as
 * `{ "type": name }` (the form Stately's editor and `createMachine` read); undefined for an
 * actor that is not a machine. Computed once per machine.
 */
export function definitionOf(actor: AnyActorRef): string | undefined {
  const logic = (actor as unknown as { logic?: { config?: unknown } }).logic;
  if (logic === undefined || typeof logic !== 'object') return undefined;
  if (definitions.has(logic)) return definitions.get(logic);
  const config = logic.config;
  const definition = config !== undefined && typeof config === 'object' && config !== null && 'states' in config
    ? JSON.stringify(config, (_key, value: unknown) => (typeof value === 'function' ? { type: value.name || 'anonymous' } : value))
    : undefined;
  definitions.set(logic, definition);
  return definition;
}

/** The name coord gives an actor: its id (`w1`, `breaker:…`), or the machine's id for the root. */
export function actorName(actor: AnyActorRef): string {
  const ref = actor as unknown as { id: string; sessionId: string; _parent?: unknown; logic?: { config?: { id?: string } } };
  if (ref._parent === undefined) return ref.logic?.config?.id ?? ref.id;
  return ref.id;
}

const base = (sessionId: string, rootId: string | undefined) => ({
  sessionId, rootId, createdAt: Date.now().toString(), id: randomUUID(), _version: INSPECT_PROTOCOL_VERSION,
});

/** An actor's snapshot now, or null while it is still being created (XState refuses to read it then). */
function snapshotNow(actor: AnyActorRef): unknown {
  try {
    return actor.getSnapshot();
  } catch {
    return null;
  }
}

/**
 * The `@xstate.actor` message for an actor, with its current snapshot — `{ status: 'active' }`
 * alone for one still being created (its first `@xstate.snapshot` follows at once).
 */
export function actorMessage(actor: AnyActorRef, rootId: string | undefined, bounds: Bounds = DEFAULT_BOUNDS): StatelyInspectionEvent {
  const parent = (actor as unknown as { _parent?: AnyActorRef })._parent;
  const snapshot = snapshotNow(actor);
  return {
    type: '@xstate.actor', ...base(actor.sessionId, rootId), name: actorName(actor), parentId: parent?.sessionId,
    definition: definitionOf(actor), snapshot: snapshot === null ? { status: 'active' } : inspectedSnapshot(snapshot, bounds),
  };
}

/** An event object, JSON-safe (always with a `type`). */
function eventOf(event: unknown, bounds: Bounds): { type: string } & Record<string, unknown> {
  const safe = jsonSafe(event, bounds);
  const object = typeof safe === 'object' && safe !== null && !Array.isArray(safe) ? (safe as Record<string, unknown>) : {};
  return { ...object, type: typeof object['type'] === 'string' ? object['type'] : 'unknown' };
}

/**
 * The stream's message for one of XState's inspection events, or null for those it does not
 * carry (microsteps, actions).
 */
export function inspectionMessage(event: InspectionEvent, bounds: Bounds = DEFAULT_BOUNDS): StatelyInspectionEvent | null {
  switch (event.type) {
    case '@xstate.actor':
      return actorMessage(event.actorRef as AnyActorRef, event.rootId, bounds);
    case '@xstate.snapshot':
      return { type: '@xstate.snapshot', ...base(event.actorRef.sessionId, event.rootId), snapshot: inspectedSnapshot(event.snapshot, bounds), event: eventOf(event.event, bounds) };
    case '@xstate.event':
      return { type: '@xstate.event', ...base(event.actorRef.sessionId, event.rootId), sourceId: event.sourceRef?.sessionId, event: eventOf(event.event, bounds) };
    default:
      return null;
  }
}
