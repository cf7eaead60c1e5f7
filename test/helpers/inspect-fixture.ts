/**
 * A stand-in for coord's inspector endpoints, for testing the page in assets/inspect/ in a
 * real browser: `GET /inspect` (the page), `GET /inspect/assets/<file>` (its files, and
 * elkjs's bundled build as `elk.bundled.js`) and the `GET /inspect/stream` WebSocket, which
 * plays inspection messages (src/inspect/types.ts) built from the REAL machine definitions,
 * serialized the way the server does: the `createMachine()` config as JSON, functions as
 * `{ type: name }`.
 *
 * Like the server, a client that connects first gets an `@xstate.actor` for every live actor,
 * then `coord.replayed`, then live messages. `drop()` plays a fall-behind: `coord.dropped`,
 * then a fresh replay.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket, WebSocketServer } from 'ws';
import { circuitBreakerMachine } from '../../machines/circuit-breaker.js';
import { coordinatorMachine } from '../../machines/coordinator.js';
import { fallbackChainMachine } from '../../machines/fallback-chain.js';
import { workerMachine } from '../../machines/worker.js';
import {
  INSPECT_PROTOCOL_VERSION,
  type InspectedActor,
  type InspectedEvent,
  type InspectedSnapshot,
  type InspectedSnapshotChange,
  type InspectMessage,
} from '../../src/inspect/types.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const ASSETS_DIR = path.resolve(here, '../../assets/inspect');
const require = createRequire(import.meta.url);
const ELK_BUNDLE = require.resolve('elkjs/lib/elk.bundled.js');

/**
 * A strict Content-Security-Policy, as coord's server may send it: the page needs nothing
 * beyond its own origin (no inline script or style, no eval; the WebSocket is same-origin).
 */
export const INSPECT_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

/** A machine's definition as the server sends it. */
export function definitionOf(machine: { config: unknown }): string {
  return JSON.stringify(machine.config, (_key, value: unknown) => (typeof value === 'function' ? { type: (value as { name: string }).name } : value));
}

export const DEFINITIONS = {
  coordinator: definitionOf(coordinatorMachine),
  worker: definitionOf(workerMachine),
  breaker: definitionOf(circuitBreakerMachine),
  fallback: definitionOf(fallbackChainMachine),
} as const;

export interface FixtureActor {
  sessionId: string;
  name: string;
  parentId: string | undefined;
  definition: string | undefined;
  snapshot: InspectedSnapshot;
}

export interface ScenarioOptions {
  /** Workers `w1`…`wN` (default 4). */
  workers?: number;
  /** Breaker scopes (children `breaker:<scope>`); default `worker:w2`, `command:claude`. */
  breakers?: string[];
  /** Fallback chain keys (children `fallback:<key>`); default `build#1`. */
  fallbacks?: string[];
  /** A callback actor `process` under each worker (default true): deeper children, no definition. */
  processes?: boolean;
}

const WORKER_STATES: unknown[] = ['idle', 'busy', 'busy', 'spawning', 'idle', { stopping: 'asking' }];

export function workerContext(n: number, value: unknown): Record<string, unknown> {
  const busy = value === 'busy';
  return {
    workerId: `w${n}`,
    worktree: `/repo/.coord/worktrees/w${n}`,
    capabilities: n % 2 ? ['node'] : [],
    restartPolicy: { restart: 'permanent', maxRestarts: 5, windowMs: 60000, initialDelayMs: 200, maxDelayMs: 30000 },
    pid: value === 'spawning' ? null : 41000 + n,
    task: busy ? { taskId: `task-${n}`, attempt: 1, lease: `lease-w${n}-1` } : null,
    lastHeartbeatAt: 1760000000000 + n,
    exit: null,
    spawnTimedOut: false,
    hung: false,
    restarts: 0,
    restartTimes: [],
    unstableTimes: [],
    restartDelayMs: null,
    readyAt: value === 'spawning' ? null : 1759999990000,
    everReady: value !== 'spawning',
    coolDownMs: null,
    coolDowns: 0,
    lastDeathCause: null,
  };
}

/** The actors of a typical run: the coordinator, its workers (each with its process), breakers, fallback chains. */
export function scenario(options: ScenarioOptions = {}): FixtureActor[] {
  const workers = options.workers ?? 4;
  const breakers = options.breakers ?? ['worker:w2', 'command:claude'];
  const fallbacks = options.fallbacks ?? ['build#1'];
  const processes = options.processes ?? true;
  let next = 0;
  const sid = () => `x:${next++}`;
  const root = sid();
  const out: FixtureActor[] = [];
  out.push({
    sessionId: root,
    name: 'coordinator',
    parentId: undefined,
    definition: DEFINITIONS.coordinator,
    snapshot: {
      status: 'active',
      value: 'running',
      context: { workers: Array.from({ length: workers }, (_, i) => ({ workerId: `w${i + 1}`, ref: { id: `w${i + 1}` } })), failedWorkers: [], drainDeadlineMs: 30000, error: null, breaker: {}, fallback: {} },
    },
  });
  for (let i = 1; i <= workers; i++) {
    const value = WORKER_STATES[(i - 1) % WORKER_STATES.length];
    const sessionId = sid();
    out.push({ sessionId, name: `w${i}`, parentId: root, definition: DEFINITIONS.worker, snapshot: { status: 'active', value, context: workerContext(i, value) } });
    if (processes) out.push({ sessionId: sid(), name: 'process', parentId: sessionId, definition: undefined, snapshot: { status: 'active' } });
  }
  breakers.forEach((scope, i) => {
    const value = i % 2 ? 'open' : 'closed';
    out.push({
      sessionId: sid(),
      name: `breaker:${scope}`,
      parentId: root,
      definition: DEFINITIONS.breaker,
      snapshot: {
        status: 'active',
        value,
        context: { scope, config: { failureThreshold: 5, failureWindowMs: 60000, openMs: 30000, halfOpenProbes: 1, closeAfterSuccesses: 1 }, failures: [], consecutiveOpens: i % 2, openMs: 30000, openedAt: i % 2 ? 1760000000000 : null, grantedProbes: [], probeSuccesses: 0 },
      },
    });
  });
  for (const key of fallbacks) {
    out.push({
      sessionId: sid(),
      name: `fallback:${key}`,
      parentId: root,
      definition: DEFINITIONS.fallback,
      snapshot: {
        status: 'active',
        value: 'live',
        context: { taskId: key.split('#')[0], maxResumes: 2, staleAfterMs: 43200000, resumeCount: 0, hops: [{ from: 'original', to: 'live', code: 'TASK_TIMEOUT', at: 1760000000000, reason: 'retry', classification: null }] },
      },
    });
  }
  return out;
}

export interface InspectFixtureOptions extends ScenarioOptions {
  /** The actors to play (default: {@link scenario} of the other options). */
  actors?: FixtureActor[];
}

export class InspectFixture {
  readonly actors = new Map<string, FixtureActor>(); // by name
  readonly clients = new Set<WebSocket>();
  /** Paths requested over HTTP, in order. */
  readonly requests: string[] = [];
  /** Every message sent (to any client), in order. */
  readonly sent: InspectMessage[] = [];
  private seq = 0;
  private rootId: string | undefined;
  private connectWaiters: Array<(ws: WebSocket) => void> = [];

  private constructor(
    private readonly server: Server,
    private readonly wss: WebSocketServer,
    readonly origin: string,
    actors: FixtureActor[],
  ) {
    for (const a of actors) this.actors.set(a.name === 'process' ? `process@${a.parentId}` : a.name, a);
    this.rootId = actors.find((a) => a.parentId === undefined)?.sessionId;
  }

  /** The page's URL. */
  get url(): string {
    return `${this.origin}/inspect`;
  }

  static async start(options: InspectFixtureOptions = {}): Promise<InspectFixture> {
    const server = createServer();
    const wss = new WebSocketServer({ noServer: true });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const fixture = new InspectFixture(server, wss, `http://127.0.0.1:${port}`, options.actors ?? scenario(options));
    server.on('request', (req, res) => void fixture.serve(req, res));
    server.on('upgrade', (req, socket, head) => {
      if (new URL(req.url ?? '/', fixture.origin).pathname !== '/inspect/stream') {
        socket.destroy();
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => fixture.onConnection(ws));
    });
    return fixture;
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const pathname = new URL(req.url ?? '/', this.origin).pathname;
    this.requests.push(pathname);
    let file: string | null = null;
    if (req.method !== 'GET' && req.method !== 'HEAD') file = null;
    else if (pathname === '/inspect' || pathname === '/inspect/') file = path.join(ASSETS_DIR, 'index.html');
    else if (pathname === '/inspect/assets/elk.bundled.js') file = ELK_BUNDLE;
    else {
      const m = /^\/inspect\/assets\/([\w.-]+)$/.exec(pathname);
      if (m && !m[1]!.startsWith('.')) file = path.join(ASSETS_DIR, m[1]!);
    }
    if (file === null) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    try {
      const body = await readFile(file);
      res
        .writeHead(200, {
          'content-type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream',
          'cache-control': 'no-store',
          'x-content-type-options': 'nosniff',
          'content-security-policy': INSPECT_CSP,
        })
        .end(body);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    }
  }

  private onConnection(ws: WebSocket): void {
    this.clients.add(ws);
    ws.on('close', () => this.clients.delete(ws));
    this.replayTo(ws);
    const waiters = this.connectWaiters;
    this.connectWaiters = [];
    for (const w of waiters) w(ws);
  }

  /** Resolves at the next client connection (after its replay was sent). */
  nextConnection(): Promise<WebSocket> {
    return new Promise((resolve) => this.connectWaiters.push(resolve));
  }

  private base(sessionId: string) {
    return { sessionId, rootId: this.rootId, createdAt: String(Date.now()), id: `m${++this.seq}`, _version: INSPECT_PROTOCOL_VERSION };
  }

  private actorMessage(a: FixtureActor): InspectedActor {
    return { type: '@xstate.actor', ...this.base(a.sessionId), name: a.name, parentId: a.parentId, definition: a.definition, snapshot: a.snapshot };
  }

  private sendTo(ws: WebSocket, msg: InspectMessage): void {
    this.sent.push(msg);
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
  }

  /** Sends to every connected client. */
  broadcast(msg: InspectMessage): void {
    for (const ws of this.clients) this.sendTo(ws, msg);
  }

  private replayTo(ws: WebSocket): void {
    for (const a of this.actors.values()) this.sendTo(ws, this.actorMessage(a));
    this.sendTo(ws, { type: 'coord.replayed', actors: this.actors.size });
  }

  actor(name: string): FixtureActor {
    const a = this.actors.get(name);
    if (!a) throw new Error(`no actor ${name} in the fixture`);
    return a;
  }

  /** `@xstate.event`: `event` sent to `name` (by `from`, or from outside). */
  sendEvent(name: string, event: { type: string } & Record<string, unknown>, from?: string): void {
    const a = this.actor(name);
    const msg: InspectedEvent = { type: '@xstate.event', ...this.base(a.sessionId), sourceId: from === undefined ? undefined : this.actor(from).sessionId, event };
    this.broadcast(msg);
  }

  /** `@xstate.snapshot`: `name` moved to `value` after `event` (context merged in when given). */
  setState(name: string, value: unknown, event: { type: string } & Record<string, unknown>, context?: Record<string, unknown>, status: InspectedSnapshot['status'] = 'active'): void {
    const a = this.actor(name);
    const prev = a.snapshot.context && typeof a.snapshot.context === 'object' ? (a.snapshot.context as Record<string, unknown>) : {};
    a.snapshot = { status, value, context: context ? { ...prev, ...context } : a.snapshot.context };
    const msg: InspectedSnapshotChange = { type: '@xstate.snapshot', ...this.base(a.sessionId), snapshot: a.snapshot, event };
    this.broadcast(msg);
  }

  /** An event and the snapshot it leads to, as XState reports them. */
  transition(name: string, event: { type: string } & Record<string, unknown>, value: unknown, context?: Record<string, unknown>, from?: string): void {
    this.sendEvent(name, event, from);
    this.setState(name, value, event, context);
  }

  /** Changes an actor's state without telling anyone (a message the client then misses). */
  setStateSilently(name: string, value: unknown): void {
    const a = this.actor(name);
    a.snapshot = { ...a.snapshot, value };
  }

  /** Adds an actor and announces it. */
  spawn(a: FixtureActor): void {
    this.actors.set(a.name, a);
    this.broadcast(this.actorMessage(a));
  }

  /** Forgets an actor without telling anyone (it stopped while the client was behind). */
  forgetSilently(name: string): void {
    this.actors.delete(name);
  }

  /** The client fell behind: `coord.dropped`, then a fresh replay of the live actors. */
  drop(count: number): void {
    for (const ws of this.clients) {
      this.sendTo(ws, { type: 'coord.dropped', count });
      this.replayTo(ws);
    }
  }

  /** New session ids for every actor, parents kept (coord restarted: the same names, new actors). */
  renumber(): void {
    const ids = new Map<string, string>();
    let n = 1000 + this.seq;
    for (const a of this.actors.values()) ids.set(a.sessionId, `x:${n++}`);
    for (const a of this.actors.values()) {
      a.sessionId = ids.get(a.sessionId)!;
      a.parentId = a.parentId === undefined ? undefined : ids.get(a.parentId);
    }
    this.rootId = [...this.actors.values()].find((a) => a.parentId === undefined)?.sessionId;
  }

  /** Closes every client's socket (the server going away for a moment). */
  disconnectAll(): void {
    for (const ws of this.clients) ws.terminate();
    this.clients.clear();
  }

  async close(): Promise<void> {
    for (const ws of this.clients) ws.terminate();
    this.wss.close();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
