/**
 * 11. Control plane: coord's daemon as its clients see it, against bare servers of the same
 * kind measured in the same run.
 *
 * The daemon is started as users start it (`node supervisor.js daemon start --detach --http
 * 127.0.0.1:0 --workers 4 …`, the default SQLite store) and measured from outside:
 *
 * 1. `status` round trips on one connection to its Unix socket, against a bare `net` server
 *    answering every NDJSON line with coord's own status answer (same bytes, nothing done);
 * 2. `POST /tasks` of 1 and of 1,000 tasks, against a bare `node:http` server that parses the
 *    body and answers 201 with the ids. Every repetition gets a fresh daemon (and a fresh bare
 *    server), so each submit lands on idle workers and an empty queue: the 1,000 `true` tasks
 *    of a submit take 40–80 s to run here, which the next repetition would otherwise compete with;
 * 3. events delivered to 10 WebSocket clients of `GET /events` while a burst of tasks runs,
 *    against a bare `ws` server broadcasting the same messages as fast as it can;
 * 4. the daemon's idle CPU and memory after all that, beside an idle Node and an idle bare
 *    `node:http` server.
 *
 * The bare servers are bench/fixtures/control-plane-peer.mjs, each in a child process; the
 * client code is the same for coord and for them.
 *
 * Run: npm run bench -- control-plane
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { fixture, ROOT } from './lib/coord.js';
import { childPids, sampleWindow, stopChild, type Watched, type WindowStats } from './lib/proc.js';
import { makeRepo, type BenchRepo } from './lib/repo.js';
import { Report } from './lib/report.js';
import { fmt, quantile, range, ratio, summarize, type Summary } from './lib/stats.js';

const WORKERS = 4;
/** Repetitions of 2 (coord and bare interleaved); of 3, `EVENT_REPS`. */
const REPS = 5;
/** Repetitions of 1: cheap (~0.2 s each), so many, alternating, to ride out this shared machine's load swings. */
const SOCKET_REPS = 11;
const ROUND_TRIPS = 2_000;
const WARM_ROUND_TRIPS = 200;
const SUBMIT_TASKS = 1_000;
/** 1-task submits per repetition, before the 1,000-task one; the first `SINGLE_WARM` are not counted. */
const SINGLE_SUBMITS = 10;
const SINGLE_WARM = 2;
/** Between submits, for coord and bare alike: coord's previous task has settled by then. */
const PAUSE_MS = 100;
const EVENT_REPS = 3;
const BURST_TASKS = 500;
const WS_CLIENTS = 10;
/** How long the daemon is left alone after the bursts before its idle cost is sampled. */
const QUIET_MS = 15_000;
const WINDOW_S = 10;
/** Any wait on the daemon longer than this fails the benchmark instead of hanging it. */
const WAIT_MS = 180_000;

const report = new Report('control-plane', '11. Control plane');
const supervisorJs = path.join(ROOT, 'supervisor.js');

// ─── Processes: every daemon and child started is recorded, to be ended even on failure ───

interface Daemon {
  pid: number;
  socket: string;
  http: string;
  token: string;
  scratch: BenchRepo;
}
const daemons = new Set<Daemon>();
const children = new Set<ChildProcess>();

/** Runs `node supervisor.js …args` to its end; resolves with its stdout, rejects with its stderr. */
async function coordCli(args: string[]): Promise<string> {
  const child = spawn(process.execPath, [supervisorJs, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`coord ${args.slice(0, 2).join(' ')} exited ${code}: ${stderr.trim()}`);
  return stdout;
}

async function startDaemon(scratch: BenchRepo): Promise<Daemon> {
  const line = await coordCli(['daemon', 'start', '--detach', '--http', '127.0.0.1:0', '--workers', String(WORKERS),
    '--repo', scratch.repo, '--state-dir', scratch.stateDir, '--worktree-root', scratch.worktreeRoot]);
  const facts = JSON.parse(line) as { pid: number; socket: string; http: string };
  const daemon = { ...facts, token: readFileSync(path.join(scratch.stateDir, 'http.token'), 'utf8').trim(), scratch };
  daemons.add(daemon);
  return daemon;
}

/** `coord daemon stop` (a drain, or `--now`: running tasks go back to ready); returns once the process is gone. */
async function stopDaemon(daemon: Daemon, now = false): Promise<void> {
  await coordCli(['daemon', 'stop', ...(now ? ['--now'] : []), '--state-dir', daemon.scratch.stateDir, '--repo', daemon.scratch.repo]);
  daemons.delete(daemon);
}

/** The failure path: SIGKILL to the workers and the daemon, whatever they are doing. */
function killDaemon(daemon: Daemon): void {
  for (const pid of [...childPids(daemon.pid), daemon.pid]) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  daemons.delete(daemon);
}

/** Forks a bare server of the fixture; resolves with what it said once it listens. */
async function startPeer(mode: 'socket' | 'http' | 'ws', options: object = {}): Promise<{ child: ChildProcess; port: number }> {
  // execArgv: [] so the child does not inherit this process's tsx loader, which would weigh
  // on the bare server's memory and start-up (the fixture is plain JavaScript).
  const child = fork(fixture('control-plane-peer.mjs'), [mode, JSON.stringify(options)], { execArgv: [], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  children.add(child);
  const ready = await Promise.race([
    once(child, 'message') as Promise<[{ port?: number }]>,
    once(child, 'exit').then(([code]) => Promise.reject(new Error(`the bare ${mode} server exited ${String(code)} before listening`))),
  ]);
  return { child, port: ready[0].port ?? 0 };
}

async function stopPeer(child: ChildProcess): Promise<void> {
  await stopChild(child);
  children.delete(child);
}

/** Rejects after `WAIT_MS` with what was awaited. */
function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`waited ${WAIT_MS / 1000} s for ${what}`)), WAIT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// ─── Clients: the same code talks to coord and to the bare servers ───

/**
 * One NDJSON connection. Answers come in request order (the protocol's promise), so each
 * answer line settles the oldest pending request; lines starting `{"event"` are events of a
 * subscription and go to `onEvent`.
 */
class LineClient {
  readonly #socket: net.Socket;
  readonly #pending: Array<(line: string) => void> = [];
  #buffered = '';
  onEvent: (event: { event: string; data: unknown }) => void = () => undefined;

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.#buffered += chunk;
      let newline: number;
      while ((newline = this.#buffered.indexOf('\n')) !== -1) {
        const line = this.#buffered.slice(0, newline);
        this.#buffered = this.#buffered.slice(newline + 1);
        if (line.startsWith('{"event"')) this.onEvent(JSON.parse(line) as { event: string; data: unknown });
        else this.#pending.shift()?.(line);
      }
    });
  }

  static async connect(socketPath: string): Promise<LineClient> {
    const socket = net.connect(socketPath);
    await once(socket, 'connect');
    return new LineClient(socket);
  }

  /** Sends one request line (with its newline); resolves with the answer, parsed and checked. */
  async request(line: string): Promise<{ id: unknown; ok: boolean; data: unknown }> {
    const answered = new Promise<string>((resolve) => this.#pending.push(resolve));
    this.#socket.write(line);
    const answer = JSON.parse(await answered) as { id: unknown; ok: boolean; data: unknown };
    if (!answer.ok) throw new Error(`refused: ${JSON.stringify(answer)}`);
    return answer;
  }

  /** Resolves at the next event named `name` (subscribe first). */
  next(name: string): Promise<void> {
    return within(new Promise<void>((resolve) => {
      const previous = this.onEvent;
      this.onEvent = (event) => {
        if (event.event !== name) return;
        this.onEvent = previous;
        resolve();
      };
    }), `the event ${name}`);
  }

  close(): void {
    this.#socket.destroy();
  }
}

/** Sequential `status` requests; latencies in µs and the rate over the whole run. */
async function roundTrips(client: LineClient, n: number): Promise<{ latencies: number[]; perSecond: number }> {
  const latencies: number[] = [];
  const started = performance.now();
  for (let i = 0; i < n; i += 1) {
    const sent = performance.now();
    await client.request(`{"id":${i},"cmd":"status"}\n`);
    latencies.push((performance.now() - sent) * 1000);
  }
  return { latencies, perSecond: (n * 1000) / (performance.now() - started) };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

/** POSTs `{"tasks": …}` to `<base>/tasks`; resolves with the ms from sending to the whole answer. */
function postTasks(base: string, token: string, tasks: readonly object[]): Promise<number> {
  const body = JSON.stringify({ tasks });
  return new Promise((resolve, reject) => {
    const sent = performance.now();
    const request = http.request(`${base}/tasks`, {
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${token}` },
    }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => {
        const elapsed = performance.now() - sent;
        const ids = response.statusCode === 201 ? (JSON.parse(text) as { ids?: unknown[] }).ids : undefined;
        if (ids?.length !== tasks.length) reject(new Error(`POST /tasks answered ${response.statusCode}: ${text.slice(0, 300)}`));
        else resolve(elapsed);
      });
    });
    request.on('error', reject);
    request.end(body);
  });
}

const trueTasks = (prefix: string, n: number): object[] => Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}`, run: ['true'] }));

interface EventMessage {
  event: string;
  data: { taskId?: string };
  at: string;
}

/** What one WebSocket client received in a burst. */
interface Received {
  count: number;
  bytes: number;
  /** performance.now() of the first and the last message. */
  first: number;
  last: number;
  /** Receive time minus the message's `at`, ms (both wall clocks of this machine, ms resolution). */
  latencies: number[];
  /** The messages themselves (kept for the first client only, to be replayed by the bare server). */
  events: Array<{ event: string; data: unknown }>;
}

async function connectClients(url: string, token: string): Promise<WebSocket[]> {
  return Promise.all(Array.from({ length: WS_CLIENTS }, async () => {
    const client = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
    await once(client, 'open');
    return client;
  }));
}

/** Listens on every client until `isDone` says each has all it should; resolves with what each received. */
function receive(clients: readonly WebSocket[], isDone: (message: EventMessage, received: Received) => boolean): Promise<Received[]> {
  return within(new Promise<Received[]>((resolve) => {
    let left = clients.length;
    const all = clients.map((client, index) => {
      const received: Received = { count: 0, bytes: 0, first: Number.NaN, last: Number.NaN, latencies: [], events: [] };
      let done = false;
      client.on('message', (data: WebSocket.RawData) => {
        const now = performance.now();
        const wall = Date.now();
        // Text frames arrive as one Buffer (the default binaryType, 'nodebuffer').
        const raw = data as Buffer;
        const message = JSON.parse(raw.toString('utf8')) as EventMessage;
        if (done) return;
        received.count += 1;
        received.bytes += raw.length;
        if (received.count === 1) received.first = now;
        received.last = now;
        received.latencies.push(wall - Date.parse(message.at));
        if (index === 0) received.events.push({ event: message.event, data: message.data });
        if (isDone(message, received)) {
          done = true;
          left -= 1;
          if (left === 0) resolve(all);
        }
      });
      return received;
    });
  }), `${clients.length} WebSocket clients to receive their events`);
}

/** Messages per second summed over the clients, from the first message any got to the last. */
function burstRate(received: readonly Received[]): { perSecond: number; seconds: number; perClient: number; bytes: number } {
  const first = Math.min(...received.map((r) => r.first));
  const last = Math.max(...received.map((r) => r.last));
  const total = received.reduce((sum, r) => sum + r.count, 0);
  const bytes = received.reduce((sum, r) => sum + r.bytes, 0);
  return { perSecond: (total * 1000) / (last - first), seconds: (last - first) / 1000, perClient: total / received.length, bytes: bytes / total };
}

// ─── The run ───

interface RoundTripRun {
  p50: number;
  p99: number;
  perSecond: number;
}
const socketRuns: Record<'coord' | 'bare', RoundTripRun[]> = { coord: [], bare: [] };
const submitRuns: Record<'coord' | 'bare', { single: number[]; batch: number[] }> = { coord: { single: [], batch: [] }, bare: { single: [], batch: [] } };
interface BurstRun {
  perSecond: number;
  seconds: number;
  perClient: number;
  bytes: number;
  latencyMean: number;
  latencyP99: number;
}
const burstRuns: Record<'coord' | 'bare', BurstRun[]> = { coord: [], bare: [] };
let statusBytes = 0;
let idleProcesses: Watched[] = [];
let idle: WindowStats[] = [];

const primary = makeRepo(1);
let control: LineClient | undefined;
let failed = true;
try {
  const daemon = await startDaemon(primary);
  // The idle baselines start with the daemon, so all three are as old when they are sampled.
  const idleNode = spawn(process.execPath, ['-e', 'setInterval(()=>{},1e9)'], { stdio: 'ignore' });
  children.add(idleNode);
  const idleHttp = await startPeer('http');

  // 1. Socket round trips.
  control = await LineClient.connect(daemon.socket);
  const status = await control.request('{"id":0,"cmd":"status"}\n');
  statusBytes = Buffer.byteLength(JSON.stringify(status)) + 1;
  const bareSocket = await startPeer('socket', { path: path.join(primary.dir, 'bare.sock'), data: status.data });
  const bare = await LineClient.connect(path.join(primary.dir, 'bare.sock'));
  for (let rep = 0; rep < SOCKET_REPS; rep += 1) {
    const order: Array<['coord' | 'bare', LineClient]> = [['coord', control], ['bare', bare]];
    if (rep % 2 === 1) order.reverse();
    for (const [system, client] of order) {
      await roundTrips(client, WARM_ROUND_TRIPS);
      const { latencies, perSecond } = await roundTrips(client, ROUND_TRIPS);
      socketRuns[system].push({ p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), perSecond });
    }
  }
  bare.close();
  await stopPeer(bareSocket.child);

  // 2. HTTP submits, each repetition on a fresh daemon and a fresh bare server.
  for (let rep = 0; rep < REPS; rep += 1) {
    const scratch = makeRepo(1);
    const fresh = await startDaemon(scratch);
    const events = await LineClient.connect(fresh.socket);
    await events.request('{"id":"events","cmd":"subscribe"}\n');
    for (let i = 0; i < SINGLE_SUBMITS; i += 1) {
      await sleep(PAUSE_MS);
      const settled = events.next('coord:settled');
      const ms = await postTasks(fresh.http, fresh.token, trueTasks(`s${rep}-${i}-`, 1));
      if (i >= SINGLE_WARM) submitRuns.coord.single.push(ms);
      await settled;
    }
    await sleep(PAUSE_MS);
    submitRuns.coord.batch.push(await postTasks(fresh.http, fresh.token, trueTasks(`t${rep}-`, SUBMIT_TASKS)));
    events.close();
    await stopDaemon(fresh, true);
    scratch.cleanup();

    const peer = await startPeer('http');
    const base = `http://127.0.0.1:${peer.port}`;
    for (let i = 0; i < SINGLE_SUBMITS; i += 1) {
      await sleep(PAUSE_MS);
      const ms = await postTasks(base, 'none', trueTasks(`s${rep}-${i}-`, 1));
      if (i >= SINGLE_WARM) submitRuns.bare.single.push(ms);
    }
    await sleep(PAUSE_MS);
    submitRuns.bare.batch.push(await postTasks(base, 'none', trueTasks(`t${rep}-`, SUBMIT_TASKS)));
    await stopPeer(peer.child);
  }

  // 3. Events to 10 WebSocket clients: a burst of tasks on the daemon, then the same messages from the bare server.
  const bareWs = await startPeer('ws');
  let replay: Array<{ event: string; data: unknown }> = [];
  const summarizeBurst = (received: Received[]): BurstRun => {
    const latencies = received.flatMap((r) => r.latencies);
    const mean = latencies.reduce((sum, ms) => sum + ms, 0) / latencies.length;
    return { ...burstRate(received), latencyMean: mean, latencyP99: quantile(latencies, 0.99) };
  };
  for (let rep = 0; rep < EVENT_REPS; rep += 1) {
    const prefix = `e${rep}-`;
    const clients = await connectClients(`${daemon.http.replace('http:', 'ws:')}/events`, daemon.token);
    const completes = new Map<Received, number>();
    // The daemon registers a client's listener once its upgrade is handled: give it a moment.
    await sleep(PAUSE_MS);
    const burst = receive(clients, (message, received) => {
      if (message.event === 'coord:complete' && message.data.taskId?.startsWith(prefix)) completes.set(received, (completes.get(received) ?? 0) + 1);
      return message.event === 'coord:settled' && completes.get(received) === BURST_TASKS;
    });
    await postTasks(daemon.http, daemon.token, trueTasks(prefix, BURST_TASKS));
    const received = await burst;
    for (const client of clients) client.terminate();
    burstRuns.coord.push(summarizeBurst(received));
    if (rep === 0) replay = received[0]?.events ?? [];

    const bareClients = await connectClients(`ws://127.0.0.1:${bareWs.port}/`, 'none');
    const bareBurst = receive(bareClients, (_, r) => r.count === replay.length);
    bareWs.child.send({ type: 'broadcast', events: replay });
    burstRuns.bare.push(summarizeBurst(await bareBurst));
    for (const client of bareClients) client.terminate();
  }
  await stopPeer(bareWs.child);

  // 4. Idle cost, after the daemon has been left alone a while.
  control.close();
  control = undefined;
  await sleep(QUIET_MS);
  idleProcesses = [
    { name: 'coord daemon', pid: daemon.pid },
    ...childPids(daemon.pid).map((pid, i) => ({ name: `its worker ${i + 1}`, pid })),
    { name: 'baseline: idle node', pid: idleNode.pid as number },
    { name: 'baseline: idle node:http server', pid: idleHttp.child.pid as number },
  ];
  idle = await sampleWindow(idleProcesses, WINDOW_S);
  await stopDaemon(daemon);
  failed = false;
} finally {
  control?.close();
  agent.destroy();
  for (const daemon of daemons) {
    if (failed) {
      const out = path.join(daemon.scratch.stateDir, 'logs', 'daemon.out');
      if (existsSync(out)) process.stderr.write(`daemon ${daemon.pid} said:\n${readFileSync(out, 'utf8').split('\n').slice(-20).join('\n')}\n`);
    }
    killDaemon(daemon);
  }
  for (const child of children) await stopChild(child);
  primary.cleanup();
}

// ─── The report ───

type Row = [string, Summary, Summary];
const cells = ([what, coord, bare]: Row): string[] => [what, fmt(coord.median), range(coord), fmt(bare.median), range(bare), ratio(coord.median, bare.median)];
const socketRow = (what: string, pick: (run: RoundTripRun) => number): Row => [what, summarize(socketRuns.coord.map(pick)), summarize(socketRuns.bare.map(pick))];

report.text(
  `A daemon started as users start it, \`node supervisor.js daemon start --detach --http 127.0.0.1:0 --workers ${WORKERS}\` `
  + 'on a scratch repository (default SQLite store, info-level log file), measured from this process against bare servers in '
  + 'child processes (bench/fixtures/control-plane-peer.mjs) that do only what a server of the kind must: read the request, '
  + 'parse it, answer. The client code is the same for both. '
  + `**Socket:** ${fmt(ROUND_TRIPS)} sequential \`{"id":n,"cmd":"status"}\` requests on one connection to \`coord.sock\` `
  + `(after ${WARM_ROUND_TRIPS} unrecorded), each answer parsed by the client; the bare \`net\` server parses each line and answers with `
  + `coord's own status answer (${statusBytes} bytes with its newline), so only coord's work differs. `
  + `**HTTP:** \`POST /tasks\` with a bearer token, ${SINGLE_SUBMITS} submits of 1 task (the first ${SINGLE_WARM} not recorded, `
  + `each after the previous one's task settled and a ${PAUSE_MS} ms pause), then one of ${fmt(SUBMIT_TASKS)} \`{"id","run":["true"]}\` `
  + 'tasks, timed from sending to the whole 201 answer over a kept-alive connection. Every repetition has a fresh daemon (and a '
  + 'fresh bare server), so every submit finds the workers idle and the queue empty; the cost is that each 1,000-task submit is '
  + 'the first this daemon process sees. The bare `node:http` server parses the body and answers 201 with the ids, validating and '
  + `storing nothing. Median of ${SOCKET_REPS} repetitions for the socket and ${REPS} for HTTP, coord and bare interleaved; "coord ÷ bare" above 1 is slower for a time, `
  + 'below 1 slower for a rate.',
);
report.table(null, ['measure', 'coord (median)', 'coord min–max', 'bare server (median)', 'bare min–max', 'coord ÷ bare'], [
  socketRow('socket `status` round trip, p50 µs', (r) => r.p50),
  socketRow('socket `status` round trip, p99 µs', (r) => r.p99),
  socketRow('socket `status` requests/s', (r) => r.perSecond),
  ['`POST /tasks`, 1 task, ms', summarize(submitRuns.coord.single), summarize(submitRuns.bare.single)] as Row,
  [`\`POST /tasks\`, ${fmt(SUBMIT_TASKS)} tasks, ms`, summarize(submitRuns.coord.batch), summarize(submitRuns.bare.batch)] as Row,
].map(cells));

const burst = (system: 'coord' | 'bare', pick: (run: BurstRun) => number): Summary => summarize(burstRuns[system].map(pick));
report.text(
  `**Events:** ${WS_CLIENTS} WebSocket clients on \`GET /events\` (bearer token), then ${BURST_TASKS} \`true\` tasks submitted at once; `
  + `a client is done when it has seen \`coord:complete\` for all ${BURST_TASKS} and the \`coord:settled\` after them. The rate is every `
  + 'message delivered to every client, from the first any client received to the last. The bare `ws` server then broadcasts the '
  + `messages the first client received (the same events, payloads and count) to ${WS_CLIENTS} clients as fast as its loop goes, stamping `
  + `each with \`at\` and stringifying it once (coord stringifies per client). Median of ${EVENT_REPS} bursts on the one daemon of the `
  + '**socket** measure (its store grows by a burst each time). coord\'s rate is bounded by how fast the tasks run, not by the '
  + `broadcast: each \`true\` task is a process and the git work around it on ${WORKERS} workers sharing 2 cores, and it yields `
  + `three events (assigned, started, complete), so coord's rate is about 3 × tasks/s × ${WS_CLIENTS}. `
  + 'The bare rate is the ceiling of broadcasting to these clients from one process, '
  + 'so the ratio says how far below that ceiling coord runs, not what the broadcast costs it. The latency is each message\'s '
  + 'receive time minus its `at`, stamped by the daemon as it hands the message to the socket (wall clocks of this machine, '
  + 'millisecond resolution, so the mean of all messages is given rather than a median that is 0 or 1); for the bare server '
  + 'it is mostly queueing behind the flood, so it is left out.',
);
report.table(null, ['system', 'messages per client', 'bytes per message', 'delivery window s', 'tasks/s in the window', 'events/s to all clients (median)', 'min–max', 'coord ÷ bare', 'latency mean ms', 'latency p99 ms'], [
  ['coord `GET /events`', fmt(burst('coord', (r) => r.perClient).median), fmt(burst('coord', (r) => r.bytes).median), fmt(burst('coord', (r) => r.seconds).median),
    fmt(burst('coord', (r) => BURST_TASKS / r.seconds).median), fmt(burst('coord', (r) => r.perSecond).median), range(burst('coord', (r) => r.perSecond)),
    ratio(burst('coord', (r) => r.perSecond).median, burst('bare', (r) => r.perSecond).median),
    fmt(burst('coord', (r) => r.latencyMean).median, 2), fmt(burst('coord', (r) => r.latencyP99).median)],
  ['bare `ws` broadcast', fmt(burst('bare', (r) => r.perClient).median), fmt(burst('bare', (r) => r.bytes).median), fmt(burst('bare', (r) => r.seconds).median, 3),
    '', fmt(burst('bare', (r) => r.perSecond).median), range(burst('bare', (r) => r.perSecond)), '', '–', '–'],
]);

const idleNodeStats = idle[idleProcesses.length - 2] as WindowStats;
const idleHttpStats = idle[idleProcesses.length - 1] as WindowStats;
report.text(
  `**Idle:** after the bursts the daemon is left alone for ${QUIET_MS / 1000} s, then it, its workers (listed apart, not in the `
  + `daemon's figure), an idle \`node -e "setInterval(()=>{},1e9)"\` and an idle bare \`node:http\` server (both started with the daemon) `
  + `are sampled every second for ${WINDOW_S} s, as in the idle-cost benchmark: CPU from \`/proc/<pid>/task/*/schedstat\` `
  + '(100 % = one core), cross-checked with `/proc/<pid>/stat` ticks; RSS is VmRSS. "–" where a baseline used less than 1 ms of CPU in the window, i.e. nothing to divide by.',
);
/** Under 1 ms of CPU in the window a baseline used nothing measurable: no ratio to it. */
const cpuRatio = (pct: number, base: number): string => (base * WINDOW_S * 10 < 1 ? '–' : ratio(pct, base));
report.table(null, ['process', 'CPU %', 'per-second min–max', 'CPU % (stat ticks)', 'CPU ÷ idle node', 'CPU ÷ idle http', 'RSS MiB (median)', 'RSS min–max', 'RSS ÷ idle node', 'RSS ÷ idle http'],
  idleProcesses.map((p, i) => {
    const s = idle[i] as WindowStats;
    return [p.name, fmt(s.cpuPct, 3), range(s.perSecond, 2), fmt(s.tickCpuPct, 1), cpuRatio(s.cpuPct, idleNodeStats.cpuPct), cpuRatio(s.cpuPct, idleHttpStats.cpuPct),
      fmt(s.rss.median, 1), range(s.rss, 1), ratio(s.rss.median, idleNodeStats.rss.median), ratio(s.rss.median, idleHttpStats.rss.median)];
  }));
report.write();
