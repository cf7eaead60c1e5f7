/**
 * The inspection stream (src/inspect/types.ts) as lines for people, one per actor's state
 * change: what `coord watch --machines` prints. Pure: messages in, lines out, no clock.
 *
 * - `@xstate.actor`: the actor is remembered by session id, with coord's name for it
 *   (`coordinator`, `w3`, `breaker:worker:w3`, `fallback:build#1`) and its state. A new one
 *   prints `<name> started in <state>`; one announced by the replay a client gets on connecting
 *   was already running and prints `<name> in <state>`. An actor that is not a machine (a
 *   worker's process, a promise) has no state and is not shown.
 * - `@xstate.snapshot` whose state value changed: `<name> <old> → <new> (<event><detail>)`, e.g.
 *   `w3 busy → restarting (process.exited SIGKILL)`; nested values dotted (`stopping.asking`). A
 *   snapshot that is not `active` any more also prints `<name> stopped` and forgets the actor.
 * - `coord.dropped`: a warning. A fresh replay follows it (ended by `coord.replayed`): actors
 *   already known print nothing again unless their state moved meanwhile, and the ones it no
 *   longer announces have stopped meanwhile.
 */
import type { InspectedActor, InspectedSnapshot, InspectedSnapshotChange, InspectMessage } from './types.js';

/** Fields of an event that say the most about it, in order; the first present is shown. */
const TELLING_FIELDS = ['signal', 'code', 'reason', 'workerId', 'taskId'] as const;
/** The same, one level down (`task.assign`'s `message.taskId`, `coordinator.fault`'s `error.code`). */
const NESTED_FIELDS = [['message', 'taskId'], ['error', 'code']] as const;
const MAX_DETAIL = 40;

/** A state value as text: `idle`, `stopping.asking`; parallel regions as `[a.x, b.y]`. */
export function formatStateValue(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value !== 'object' || value === null) return undefined;
  const parts = Object.entries(value).map(([key, child]) => {
    const inner = formatStateValue(child);
    return inner === undefined ? key : `${key}.${inner}`;
  });
  if (parts.length === 0) return undefined;
  return parts.length === 1 ? parts[0] : `[${parts.join(', ')}]`;
}

/** An event's type, short: XState's own events by what they mean (`after shutdownGrace`, `done`). */
export function shortEventType(type: string): string {
  const after = /^xstate\.after\.([^.]+)\./.exec(type);
  if (after) return /^\d+$/.test(after[1] ?? '') ? `after ${after[1]}ms` : `after ${after[1]}`;
  if (type.startsWith('xstate.done.')) return 'done';
  if (type.startsWith('xstate.error.')) return 'error';
  if (type === 'xstate.init') return 'init';
  if (type === 'xstate.stop') return 'stop';
  return type;
}

const shown = (value: unknown, key: string): string | undefined => {
  if (typeof value === 'number') return key === 'code' ? `exit ${value}` : String(value);
  if (typeof value !== 'string' || value === '') return undefined;
  return value.length > MAX_DETAIL ? `${value.slice(0, MAX_DETAIL - 1)}…` : value;
};

/** The event's most telling field, when it has one: a signal, a code, a reason, a worker or task id. */
export function eventDetail(event: Record<string, unknown>): string | undefined {
  for (const key of TELLING_FIELDS) {
    const value = shown(event[key], key);
    if (value !== undefined) return value;
  }
  for (const [outer, key] of NESTED_FIELDS) {
    const holder = event[outer];
    const value = typeof holder === 'object' && holder !== null ? shown((holder as Record<string, unknown>)[key], key) : undefined;
    if (value !== undefined) return value;
  }
  return undefined;
}

/** `process.exited SIGKILL`, `after heartbeatTimeout`, `task.assign build`. */
export function describeEvent(event: { type: string } & Record<string, unknown>): string {
  const detail = eventDetail(event);
  return `${shortEventType(event.type)}${detail === undefined ? '' : ` ${detail}`}`;
}

interface KnownActor {
  name: string;
  /** Undefined until its first snapshot with a state value. */
  state: string | undefined;
}

const ended = (snapshot: InspectedSnapshot): boolean => snapshot.status !== 'active';

/** Reads the inspection stream, message by message, into lines. */
export class MachineLines {
  private readonly actors = new Map<string, KnownActor>();
  /** Session ids of actors that are not machines: their snapshots are not shown. */
  private readonly hidden = new Set<string>();
  /** Until the first `coord.replayed`: the actors announced were alive before this client connected. */
  private replaying = true;
  /** After a drop, until the replay that follows it ends: the actors it announced. */
  private refreshed: Set<string> | null = null;

  /** The lines `message` adds (often none). */
  consume(message: InspectMessage): string[] {
    switch (message.type) {
      case '@xstate.actor':
        return this.onActor(message);
      case '@xstate.snapshot':
        return this.onSnapshot(message);
      case 'coord.replayed':
        return this.onReplayed();
      case 'coord.dropped':
        this.refreshed = new Set();
        return [`warning: ${message.count} inspection ${message.count === 1 ? 'message' : 'messages'} dropped (this watch fell behind); catching up`];
      default:
        return [];
    }
  }

  /** The actors known now, by session id: their names and states (for tests and status lines). */
  known(): ReadonlyMap<string, Readonly<KnownActor>> {
    return this.actors;
  }

  private startLine(name: string, state: string): string {
    return this.replaying ? `${name} in ${state}` : `${name} started in ${state}`;
  }

  private onActor(message: InspectedActor): string[] {
    const state = formatStateValue(message.snapshot.value);
    this.refreshed?.add(message.sessionId);
    const known = this.actors.get(message.sessionId);
    if (known) {
      // Announced again: by the replay after a drop. Only a state that moved meanwhile is news.
      const before = known.state;
      if (state === undefined || state === before) return [];
      known.state = state;
      return [before === undefined ? this.startLine(known.name, state) : `${known.name} ${before} → ${state} (while messages were dropped)`];
    }
    if (message.definition === undefined && state === undefined) {
      this.hidden.add(message.sessionId);
      return [];
    }
    this.actors.set(message.sessionId, { name: message.name, state });
    // A machine announced before its first snapshot says where it starts with that snapshot.
    return state === undefined ? [] : [this.startLine(message.name, state)];
  }

  private onSnapshot(message: InspectedSnapshotChange): string[] {
    if (this.hidden.has(message.sessionId)) {
      if (ended(message.snapshot)) this.hidden.delete(message.sessionId);
      return [];
    }
    const actor = this.actors.get(message.sessionId) ?? { name: message.sessionId, state: undefined };
    this.actors.set(message.sessionId, actor);
    const state = formatStateValue(message.snapshot.value);
    const lines: string[] = [];
    if (state !== undefined && actor.state === undefined) lines.push(this.startLine(actor.name, state));
    else if (state !== undefined && state !== actor.state) lines.push(`${actor.name} ${actor.state} → ${state} (${describeEvent(message.event)})`);
    if (state !== undefined) actor.state = state;
    if (ended(message.snapshot)) {
      lines.push(`${actor.name} stopped${message.snapshot.status === 'error' ? ' (error)' : ''}`);
      this.actors.delete(message.sessionId);
    }
    return lines;
  }

  private onReplayed(): string[] {
    this.replaying = false;
    const refreshed = this.refreshed;
    this.refreshed = null;
    if (refreshed === null) return [];
    // Known before the drop, not alive in the replay after it: stopped while messages were dropped.
    const gone = [...this.actors].filter(([sessionId]) => !refreshed.has(sessionId));
    for (const [sessionId] of gone) this.actors.delete(sessionId);
    return gone.map(([, actor]) => `${actor.name} stopped`);
  }
}
