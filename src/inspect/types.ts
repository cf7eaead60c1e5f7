/**
 * The inspection stream's messages: the format of `@statelyai/inspect` (its
 * `StatelyInspectionEvent`: `@xstate.actor`, `@xstate.snapshot`, `@xstate.event`), made
 * JSON-safe and bounded by coord (src/inspect/serialize.ts), plus two messages of coord's own
 * (`coord.replayed`, `coord.dropped`). `GET /inspect/stream` (WebSocket) sends one per frame,
 * as JSON; the socket's `inspect` command one per line.
 *
 * A client that connects late first gets an `@xstate.actor` for every live actor (with its
 * definition and current snapshot), then `coord.replayed`, then the live messages.
 */

/** The protocol version the messages follow (that of `@statelyai/inspect` they mirror). */
export const INSPECT_PROTOCOL_VERSION = '0.4.0';

/** What every Stately inspection message carries. */
export interface InspectionBase {
  /** The actor's session id (unique in the system, e.g. `x:3`). */
  sessionId: string;
  /** The root actor's session id. */
  rootId: string | undefined;
  /** Epoch ms, as a string (Stately's format). */
  createdAt: string;
  /** A unique id of this message. */
  id: string;
  _version: string;
}

/** An actor's snapshot, JSON-safe: `value` is the state value (machines), `context` bounded and scrubbed. */
export interface InspectedSnapshot {
  status: 'active' | 'done' | 'error' | 'stopped';
  value?: unknown;
  context?: unknown;
}

/** An actor came to life (or, in a replay, is alive). */
export interface InspectedActor extends InspectionBase {
  type: '@xstate.actor';
  /** The actor's id as coord names it: `coordinator`, a worker id (`w1`), `breaker:<scope>`, `fallback:<task>`. */
  name: string;
  /** The parent actor's session id (undefined for the root). */
  parentId: string | undefined;
  /** The machine's config as JSON (the `createMachine()` config; functions as `{ "type": name }`), or undefined for an actor that is not a machine. */
  definition: string | undefined;
  snapshot: InspectedSnapshot;
}

/** An actor's snapshot changed, after `event`. */
export interface InspectedSnapshotChange extends InspectionBase {
  type: '@xstate.snapshot';
  snapshot: InspectedSnapshot;
  event: { type: string } & Record<string, unknown>;
}

/** An event was sent to an actor (`sessionId`) by another (`sourceId`). */
export interface InspectedEvent extends InspectionBase {
  type: '@xstate.event';
  sourceId: string | undefined;
  event: { type: string } & Record<string, unknown>;
}

/** coord's own: the replay of live actors for a late client is over; live messages follow. */
export interface InspectReplayed {
  type: 'coord.replayed';
  actors: number;
}

/** coord's own: this client fell behind and `count` messages were dropped (its picture is refreshed by a new replay). */
export interface InspectDropped {
  type: 'coord.dropped';
  count: number;
}

export type StatelyInspectionEvent = InspectedActor | InspectedSnapshotChange | InspectedEvent;
export type InspectMessage = StatelyInspectionEvent | InspectReplayed | InspectDropped;
