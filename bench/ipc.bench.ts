/**
 * 1. IPC overhead: a `coord:*` request/response with zod validation at both ends against
 * raw `child_process.fork` IPC of the same payload, both over the default JSON
 * serialization.
 *
 * The request is a realistic `coord:assign` (a module task), the response a realistic
 * `coord:complete`. The coord pair does exactly what the supervisor and a worker do: the
 * child parses with `parseMessage(ParentMessageSchema)` and answers through the worker's
 * real channel (which checks the outgoing message against `WorkerMessageSchema` and sends
 * with a callback); the parent sends with a callback, as `runProcess` does, and parses the
 * answer with `parseMessage(WorkerMessageSchema)`. The raw pair sends the same objects and
 * checks nothing.
 *
 * Run: npm run bench -- ipc
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { COMPLETE } from './fixtures/ipc-payloads.mjs';
import { fixture, loadDist } from './lib/coord.js';
import { stopChild } from './lib/proc.js';
import { Report } from './lib/report.js';
import { fmt, range, ratio, summarize, type Summary } from './lib/stats.js';

type Messages = typeof import('../src/protocol/messages.js');
type Parse = typeof import('../src/protocol/parse.js');

const PING_PONG_ROUND_TRIPS = 2_000;
const PIPELINED_MESSAGES = 20_000;
const REPETITIONS = 7;
const PARSE_ITERATIONS = 50_000;
const PARSE_REPETITIONS = 5;

const { ParentMessageSchema, WorkerMessageSchema } = await loadDist<Messages>('src/protocol/messages.js');
const { parseMessage } = await loadDist<Parse>('src/protocol/parse.js');

const ASSIGN = {
  type: 'coord:assign',
  taskId: 'bench-task-0001',
  attempt: 1,
  lease: 'q2Yp0cJm9WkAa1Zx',
  exec: { kind: 'module', module: 'tools/count-todos.mjs', export: 'default', input: { dir: 'src', depth: 3 } },
  branch: 'coord/bench-task-0001',
  startCommit: '4b825dc642cb6eb9a060e54bf8d69288fbee4904',
  timeoutMs: 60_000,
  logFile: '/home/dev/app/.git/coord/logs/tasks/bench-task-0001/attempt-1.log',
  maxLogBytes: 52_428_800,
} as const;

/** One side of a pair: how the parent sends and what it does with each reply. */
interface Peer {
  name: 'coord' | 'raw';
  child: ChildProcess;
  send(): void;
  /** Called for each reply; throws if a coord reply does not parse. */
  receive(raw: unknown): void;
}

async function startPeer(name: Peer['name']): Promise<Peer> {
  const child = fork(fixture(name === 'coord' ? 'ipc-coord-child.mjs' : 'ipc-raw-child.mjs'), [], {
    serialization: 'json',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await once(child, 'message');
  if (name === 'raw') {
    return { name, child, send: () => child.send(ASSIGN), receive: () => undefined };
  }
  return {
    name,
    child,
    // runProcess sends with a callback so a failed send is logged; so does this.
    send: () => child.send(ASSIGN, (error) => {
      if (error) throw error;
    }),
    receive: (raw) => {
      const parsed = parseMessage(WorkerMessageSchema, raw);
      if (!parsed.ok) throw new Error(`reply refused: ${parsed.reason}`);
    },
  };
}

/** Sequential request → reply, `count` times; resolves with round trips per second. */
function pingPong(peer: Peer, count: number): Promise<number> {
  return new Promise((resolve) => {
    let left = count;
    const started = performance.now();
    const onMessage = (raw: unknown): void => {
      peer.receive(raw);
      left -= 1;
      if (left > 0) return peer.send();
      peer.child.off('message', onMessage);
      resolve(count / ((performance.now() - started) / 1000));
    };
    peer.child.on('message', onMessage);
    peer.send();
  });
}

/** `count` requests sent at once; resolves with answered requests per second. */
function pipelined(peer: Peer, count: number): Promise<number> {
  return new Promise((resolve) => {
    let left = count;
    const started = performance.now();
    const onMessage = (raw: unknown): void => {
      peer.receive(raw);
      left -= 1;
      if (left > 0) return;
      peer.child.off('message', onMessage);
      resolve(count / ((performance.now() - started) / 1000));
    };
    peer.child.on('message', onMessage);
    for (let i = 0; i < count; i += 1) peer.send();
  });
}

/** Calls per second of `run` in this process (no IPC), median of several runs: where coord's extra time goes. */
function perSecond(run: () => void): number {
  for (let i = 0; i < 5_000; i += 1) run();
  const rates: number[] = [];
  for (let rep = 0; rep < PARSE_REPETITIONS; rep += 1) {
    const started = performance.now();
    for (let i = 0; i < PARSE_ITERATIONS; i += 1) run();
    rates.push(PARSE_ITERATIONS / ((performance.now() - started) / 1000));
  }
  return summarize(rates).median;
}

const report = new Report('ipc', '1. IPC overhead');
// Measured first, before the IPC loops leave garbage and megamorphic call sites behind.
const parseRates = {
  assign: perSecond(() => ParentMessageSchema.safeParse(ASSIGN)),
  complete: perSecond(() => WorkerMessageSchema.safeParse(COMPLETE)),
  json: perSecond(() => JSON.parse(JSON.stringify(ASSIGN))),
};
const coord = await startPeer('coord');
const raw = await startPeer('raw');
const samples = { pingPong: { coord: [] as number[], raw: [] as number[] }, pipelined: { coord: [] as number[], raw: [] as number[] } };
try {
  // Warm-up: JIT both ends of both pairs before anything is timed.
  for (const peer of [coord, raw]) {
    await pingPong(peer, 500);
    await pipelined(peer, 2_000);
  }
  // Interleaved, so a burst of load from elsewhere on the machine hits both sides alike.
  for (let rep = 0; rep < REPETITIONS; rep += 1) {
    for (const peer of rep % 2 === 0 ? [coord, raw] : [raw, coord]) {
      samples.pingPong[peer.name].push(await pingPong(peer, PING_PONG_ROUND_TRIPS));
      samples.pipelined[peer.name].push(await pipelined(peer, PIPELINED_MESSAGES));
    }
  }
} finally {
  await stopChild(coord.child);
  await stopChild(raw.child);
}

report.text(
  `A \`coord:assign\` request and a \`coord:complete\` reply (${JSON.stringify(ASSIGN).length} and `
  + `${JSON.stringify(COMPLETE).length} bytes of JSON) between this process and a forked child, with coord's `
  + 'validation at both ends (parent: `parseMessage(WorkerMessageSchema)` on the reply; child: `parseMessage(ParentMessageSchema)` '
  + 'on the request and the worker channel\'s outgoing check) against raw `child_process.fork` IPC of the same objects. '
  + `Ping-pong: ${PING_PONG_ROUND_TRIPS.toLocaleString('en-US')} sequential round trips; pipelined: `
  + `${PIPELINED_MESSAGES.toLocaleString('en-US')} requests sent at once, timed until the last reply. `
  + `Median of ${REPETITIONS} repetitions, coord and raw interleaved.`,
);
const pp = { coord: summarize(samples.pingPong.coord), raw: summarize(samples.pingPong.raw) };
const pl = { coord: summarize(samples.pipelined.coord), raw: summarize(samples.pipelined.raw) };
report.table(null, ['mode', 'coord /s (median)', 'coord min–max', 'raw /s (median)', 'raw min–max', 'coord ÷ raw'], [
  ['ping-pong round trips', fmt(pp.coord.median), range(pp.coord), fmt(pp.raw.median), range(pp.raw), ratio(pp.coord.median, pp.raw.median)],
  ['pipelined requests answered', fmt(pl.coord.median), range(pl.coord), fmt(pl.raw.median), range(pl.raw), ratio(pl.coord.median, pl.raw.median)],
]);
report.table(
  `Where the difference goes, measured in this process without IPC (median of ${PARSE_REPETITIONS} runs of ${PARSE_ITERATIONS.toLocaleString('en-US')}):`,
  ['operation', 'per second', 'µs each'],
  [
    ['zod parse of the `coord:assign` (ParentMessageSchema)', fmt(parseRates.assign), fmt(1e6 / parseRates.assign, 2)],
    ['zod parse of the `coord:complete` (WorkerMessageSchema)', fmt(parseRates.complete), fmt(1e6 / parseRates.complete, 2)],
    ['JSON stringify + parse of the `coord:assign`', fmt(parseRates.json), fmt(1e6 / parseRates.json, 2)],
  ],
);
const extraUs = (rate: { coord: Summary; raw: Summary }): number => 1e6 / rate.coord.median - 1e6 / rate.raw.median;
const checksUs = 1e6 / parseRates.assign + 2 * (1e6 / parseRates.complete);
report.text(
  'A coord round trip does three schema checks: the request in the child, the reply on its way out of the child (the worker '
  + `channel's self-check) and the reply in the parent, ≈ ${fmt(checksUs, 1)} µs of CPU by the table above. coord adds `
  + `${fmt(extraUs(pp), 1)} µs per ping-pong round trip and ${fmt(extraUs(pl), 1)} µs per pipelined one, so validation accounts `
  + 'for most of the difference; the rest is the send callback. Ping-pong is bound by the event-loop wake-ups of each round '
  + 'trip, so validation shows less there than in the pipelined mode, where both sides are CPU-bound.',
);
report.write();
