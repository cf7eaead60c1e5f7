/**
 * 17. Inspector: how many inspection messages per second the stream carries to a WebSocket
 * client, and what inspection costs the supervisor.
 *
 * Stream: a worker machine (coord's own) is driven through its busy ⇄ idle cycle as fast as
 * the loop allows, its actor system observed by the inspection hub, with one client connected
 * over a real WebSocket on 127.0.0.1 (the page's path: serialize, send, receive, parse). The
 * figure is messages received per second; the baseline, in the same run, is the same loop
 * with the hub observing and no client (what a daemon pays with nobody watching).
 *
 * Overhead: 200 `true` command tasks on 4 workers through the whole supervisor, with
 * `inspect: false`, with inspection on and nobody watching, and with a client subscribed to
 * the stream, alternating, 3 runs each; the supervisor process's CPU time (user + system,
 * `process.cpuUsage`) per run is compared, and the wall time.
 *
 * Run: npm run bench -- inspector
 */
import { performance } from 'node:perf_hooks';
import { createActor, fromCallback } from 'xstate';
import { WebSocketServer, WebSocket } from 'ws';
import type { InspectionHub as HubClass } from '../src/inspect/hub.js';
import type { workerMachine as WorkerMachine } from '../machines/worker.js';
import { loadCoord, loadDist } from './lib/coord.js';
import { makeRepo } from './lib/repo.js';
import { Report } from './lib/report.js';
import { fmt, ratio, summarize } from './lib/stats.js';

const { InspectionHub } = await loadDist<{ InspectionHub: typeof HubClass }>('src/inspect/hub.js');
const { workerMachine } = await loadDist<{ workerMachine: typeof WorkerMachine }>('machines/worker.js');
const { DEFAULT_RESTART_POLICY } = await loadDist<typeof import('../machines/restart-policy.js')>('machines/restart-policy.js');
const { createSupervisor } = await loadCoord();
const report = new Report('inspector', '17. Inspector: stream throughput, supervisor overhead');

// ── stream throughput ───────────────────────────────────────────────────────
const CYCLES = 20_000;

/** A worker actor in `idle`, observed by `hub`, with a fake process child (no fork). */
function drivenWorker(hub: InstanceType<typeof HubClass>) {
  const machine = workerMachine.provide({ actors: { runProcess: fromCallback(() => undefined) } as never });
  const actor = createActor(machine, {
    inspect: hub.observer,
    input: { workerId: 'w1', worktree: '/wt/w1', capabilities: [], restartPolicy: DEFAULT_RESTART_POLICY } as never,
  }).start();
  actor.send({ type: 'process.ready', pid: 1, at: Date.now() });
  return actor;
}

const assign = (n: number) => ({
  type: 'coord:assign', taskId: `t${n}`, attempt: 1, lease: `l${n}`, exec: { kind: 'run', argv: ['true'], env: {} }, branch: `coord/t${n}`,
  startCommit: 'a'.repeat(40), timeoutMs: null, logFile: '/tmp/x.log', maxLogBytes: 1_048_576, quietAfterMs: null, rateKey: null,
});

function cycle(actor: ReturnType<typeof drivenWorker>, n: number): void {
  actor.send({ type: 'task.assign', message: assign(n) } as never);
  actor.send({ type: 'task.completed', message: { type: 'coord:complete', taskId: `t${n}`, attempt: 1, lease: `l${n}`, exitCode: 0, result: null, commit: null, durationMs: 1 } } as never);
}

async function streamRun(withClient: boolean): Promise<{ ms: number; received: number; serialized: number; observed: number; dropped: number }> {
  const hub = new InspectionHub();
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  server.on('connection', (socket) => {
    const unsubscribe = hub.subscribe({ send: (text) => socket.send(text), backlog: () => socket.bufferedAmount }, { maxBacklogBytes: 64 * 1024 * 1024 });
    socket.on('close', unsubscribe);
  });
  let received = 0;
  let client: WebSocket | undefined;
  if (withClient) {
    client = new WebSocket(`ws://127.0.0.1:${port}`);
    client.on('message', (data) => {
      JSON.parse(String(data));
      received += 1;
    });
    await new Promise<void>((resolve) => client?.once('open', () => resolve()));
  }
  const actor = drivenWorker(hub);
  const started = performance.now();
  for (let n = 0; n < CYCLES; n += 1) {
    cycle(actor, n);
    if (n % 20 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
  }
  // Everything sent has arrived (the client counts the replay and any drop marker too).
  const { serialized, dropped } = hub.stats();
  while (withClient && received < serialized - dropped) await new Promise<void>((resolve) => setTimeout(resolve, 5));
  const ms = performance.now() - started;
  const stats = hub.stats();
  actor.stop();
  client?.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return { ms, received, serialized: stats.serialized, observed: stats.observed, dropped: stats.dropped };
}

const streamed = [];
const unwatched = [];
for (let round = 0; round < 3; round += 1) {
  streamed.push(await streamRun(true));
  unwatched.push(await streamRun(false));
}
const s = summarize(streamed.map((r) => r.ms));
const u = summarize(unwatched.map((r) => r.ms));
const perSecond = (count: number, ms: number): string => fmt(count / (ms / 1000), 0);
const medianRun = streamed.find((r) => r.ms === s.median) ?? (streamed[0] as (typeof streamed)[number]);

// ── supervisor overhead ─────────────────────────────────────────────────────
const TASKS = 200;
type Mode = 'off' | 'on, nobody watching' | 'on, a client watching';

async function graphRun(mode: Mode): Promise<{ cpuMs: number; wallMs: number; messages: number }> {
  const scratch = makeRepo(1);
  try {
    const supervisor = createSupervisor({
      repo: scratch.repo, stateDir: scratch.stateDir, worktreeRoot: scratch.worktreeRoot, workers: 4, logLevel: 'silent', inspect: mode !== 'off', conflictCheckMs: null,
    });
    await supervisor.start();
    await new Promise<void>((resolve) => {
      const check = (): void => (supervisor.status().workers.filter((w) => w.state === 'idle').length === 4 ? resolve() : void setTimeout(check, 20));
      check();
    });
    let messages = 0;
    const unsubscribe = mode === 'on, a client watching' && supervisor.inspection
      ? supervisor.inspection.subscribe({ send: (text) => { JSON.parse(text); messages += 1; }, backlog: () => 0 })
      : () => undefined;
    const cpu = process.cpuUsage();
    const started = performance.now();
    await supervisor.submit(Array.from({ length: TASKS }, (_, i) => ({ id: `t${i}`, run: ['true'] })));
    await supervisor.settled();
    const wallMs = performance.now() - started;
    const used = process.cpuUsage(cpu);
    unsubscribe();
    await supervisor.drain();
    return { cpuMs: (used.user + used.system) / 1000, wallMs, messages };
  } finally {
    scratch.cleanup();
  }
}

const modes: Mode[] = ['off', 'on, nobody watching', 'on, a client watching'];
const runs = new Map<Mode, Array<{ cpuMs: number; wallMs: number; messages: number }>>(modes.map((m) => [m, []]));
for (let round = 0; round < 3; round += 1) for (const mode of modes) runs.get(mode)?.push(await graphRun(mode));
const cpuOf = (mode: Mode) => summarize((runs.get(mode) ?? []).map((r) => r.cpuMs));
const wallOf = (mode: Mode) => summarize((runs.get(mode) ?? []).map((r) => r.wallMs));
const off = cpuOf('off');

report.text(`Stream: a worker machine driven through ${CYCLES.toLocaleString('en')} assign → complete cycles, observed by the hub; one client over a real WebSocket on 127.0.0.1 parses every message. Medians of 3 rounds, alternating with the baseline (the hub observing, nobody connected).`);
report.table(null, ['run', 'ms (median)', 'inspection events observed', 'messages serialized', 'received by the client', 'dropped', 'messages / s', 'vs nobody connected'], [
  ['a client connected', fmt(s.median, 0), String(medianRun.observed), String(medianRun.serialized), String(medianRun.received), String(medianRun.dropped), perSecond(medianRun.received, s.median), ratio(s.median, u.median)],
  ['baseline: nobody connected', fmt(u.median, 0), String(unwatched[0]?.observed ?? 0), String(unwatched[0]?.serialized ?? 0), '–', '–', '–', '1.00×'],
]);
report.text(`Overhead: ${TASKS} \`true\` command tasks on 4 workers, SQLite, from submission to settled; the supervisor process's CPU time (the workers are other processes); medians of 3 runs each, alternating.`);
report.table(null, ['inspection', 'supervisor CPU ms', 'vs off', 'wall ms', 'messages to the client'], modes.map((mode) => [
  mode, fmt(cpuOf(mode).median, 0), ratio(cpuOf(mode).median, off.median), fmt(wallOf(mode).median, 0), mode === 'on, a client watching' ? String((runs.get(mode) ?? [])[0]?.messages ?? 0) : '–',
]));
report.write();
