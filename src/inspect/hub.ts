/**
 * The inspection hub: the observer the supervisor's actor system is created with (XState's
 * `inspect` option), and the clients of its stream (the inspector page's WebSocket, the
 * socket's `inspect` command, a bridge to Stately's inspector).
 *
 * With no client it only keeps the set of live actors: nothing is serialized. With clients,
 * each inspection event is serialized once (src/inspect/serialize.ts) and sent to all. A
 * client that connects late first gets every live actor with its definition and current
 * snapshot, then `coord.replayed`. A client that falls behind (its unsent backlog over a
 * bound) is not buffered without end: messages to it are dropped and counted until its
 * backlog drains, then it gets `coord.dropped {count}` and a fresh replay, so its picture is
 * whole again.
 */
import type { AnyActorRef, InspectionEvent, Observer } from 'xstate';
import { actorMessage, DEFAULT_BOUNDS, inspectionMessage, type Bounds } from './serialize.js';
import type { InspectMessage } from './types.js';

/** Where a client's messages go. */
export interface InspectClient {
  /** Sends one message, as JSON text. */
  send(text: string): void;
  /** Bytes sent but not yet gone out (a WebSocket's `bufferedAmount`, a socket's `writableLength`). */
  backlog(): number;
}

/** What the hub has done, for benchmarks and status. */
export interface HubStats {
  /** Inspection events observed. */
  observed: number;
  /** Messages serialized (once each, whatever the number of clients). */
  serialized: number;
  /** Messages dropped for clients that fell behind. */
  dropped: number;
  clients: number;
  liveActors: number;
}

interface ClientState {
  client: InspectClient;
  maxBacklog: number;
  /** Messages dropped since it fell behind; null while it keeps up. */
  dropping: number | null;
  timer: NodeJS.Timeout | undefined;
}

/** How often a client that fell behind is looked at again. */
const RECHECK_MS = 100;
/** The default backlog a client may have before messages to it are dropped. */
export const DEFAULT_MAX_BACKLOG_BYTES = 1024 * 1024;

export class InspectionHub {
  private readonly live = new Map<string, AnyActorRef>();
  private rootId: string | undefined;
  private readonly clients = new Set<ClientState>();
  private readonly counts = { observed: 0, serialized: 0, dropped: 0 };

  /** Pass to `createActor(machine, { inspect: hub.observer })`. */
  readonly observer: Observer<InspectionEvent> = { next: (event) => this.observe(event) };

  constructor(private readonly bounds: Bounds = DEFAULT_BOUNDS) {}

  /** Adds a client: it gets the replay of live actors now, then every message. Returns the unsubscribe. */
  subscribe(client: InspectClient, options: { maxBacklogBytes?: number } = {}): () => void {
    const state: ClientState = { client, maxBacklog: options.maxBacklogBytes ?? DEFAULT_MAX_BACKLOG_BYTES, dropping: null, timer: undefined };
    this.clients.add(state);
    this.replay(state);
    return () => {
      clearInterval(state.timer);
      this.clients.delete(state);
    };
  }

  stats(): HubStats {
    return { ...this.counts, clients: this.clients.size, liveActors: this.live.size };
  }

  /** Never throws: it runs inside XState's transitions. */
  private observe(event: InspectionEvent): void {
    try {
      this.record(event);
    } catch {
      // An event the hub cannot read is left out of the stream; the system goes on.
    }
  }

  private record(event: InspectionEvent): void {
    this.counts.observed += 1;
    if (event.type === '@xstate.actor') {
      this.live.set(event.actorRef.sessionId, event.actorRef as AnyActorRef);
      this.rootId ??= event.rootId;
    }
    if (this.clients.size > 0) {
      const message = inspectionMessage(event, this.bounds);
      if (message !== null) this.broadcast(message);
    }
    if (event.type === '@xstate.snapshot' && (event.snapshot as { status?: string }).status !== 'active') this.live.delete(event.actorRef.sessionId);
  }

  private broadcast(message: InspectMessage): void {
    this.counts.serialized += 1;
    const text = JSON.stringify(message);
    for (const state of this.clients) this.deliver(state, text);
  }

  private deliver(state: ClientState, text: string): void {
    if (state.dropping !== null) {
      state.dropping += 1;
      this.counts.dropped += 1;
      return;
    }
    if (state.client.backlog() > state.maxBacklog) {
      state.dropping = 1;
      this.counts.dropped += 1;
      state.timer = setInterval(() => this.recover(state), RECHECK_MS);
      state.timer.unref();
      return;
    }
    this.sendTo(state, text);
  }

  /** A client that fell behind and has caught up gets the count it missed and a fresh picture. */
  private recover(state: ClientState): void {
    if (state.dropping === null || state.client.backlog() > state.maxBacklog / 4) return;
    clearInterval(state.timer);
    state.timer = undefined;
    const count = state.dropping;
    state.dropping = null;
    this.sendTo(state, JSON.stringify({ type: 'coord.dropped', count } satisfies InspectMessage));
    this.replay(state);
  }

  /** Every live actor with its definition and current snapshot, parents first, then `coord.replayed`. */
  private replay(state: ClientState): void {
    let actors = 0;
    for (const [sessionId, actor] of this.live) {
      let status: string;
      try {
        status = actor.getSnapshot().status;
      } catch {
        status = 'active'; // still being created
      }
      if (status !== 'active') {
        this.live.delete(sessionId);
        continue;
      }
      this.sendTo(state, JSON.stringify(actorMessage(actor, this.rootId, this.bounds)));
      actors += 1;
    }
    this.sendTo(state, JSON.stringify({ type: 'coord.replayed', actors } satisfies InspectMessage));
  }

  private sendTo(state: ClientState, text: string): void {
    try {
      state.client.send(text);
    } catch {
      // A client that cannot take a message is gone: its own close unsubscribes it.
    }
  }
}
