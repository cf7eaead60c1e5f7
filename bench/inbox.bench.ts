/**
 * 18. The file-drop inbox: how soon a dropped file is submitted, and what watching costs
 * while nothing is dropped, against a bare `fs.watch` on a folder measured in the same run.
 *
 * 1. Detection latency: a task file is written outside the watched folder (same
 *    filesystem), then renamed in; the time is from just before the rename to the inbox's
 *    `submit` call (a no-op), and for the bare watch to its first event naming the file.
 *    The next file is dropped once the previous one is in accepted/, so every drop lands on
 *    an idle inbox. Drops alternate in blocks between the three watchers, to ride out this
 *    shared machine's load swings. Besides the inbox as configured by default (a file is
 *    read once it has been quiet for 50 ms), one with `quietMs: 0` shows what the rest costs:
 *    chokidar, reading and parsing the file twice, the claim.
 * 2. Idle cost: 10 s with the inbox watching (it handled a few files, then 15 s passed) and
 *    nothing happening, then 10 s with only a bare `fs.watch`, twice each, in this same
 *    process. CPU is `process.cpuUsage()` (user + system, all threads); wake-ups are the
 *    JavaScript callbacks run in the window (an async hook's `before`; promise continuations
 *    left out), less the window's own two timers; the timers armed are
 *    `process.getActiveResourcesInfo()` in the middle of the window, less the window's own;
 *    the collections V8 ran meanwhile come from its `GCProfiler`.
 *
 * Run: npm run bench -- inbox (after `npm run build`)
 */
import { createHook } from 'node:async_hooks';
import { mkdirSync, mkdtempSync, renameSync, rmSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import v8 from 'node:v8';
import { loadDist } from './lib/coord.js';
import { Report } from './lib/report.js';
import { fmt, iqr, ratio, summarize, type Summary } from './lib/stats.js';

type InboxModule = typeof import('../src/intake/inbox.js');
type LoggerModule = typeof import('../src/log/logger.js');
const { watchInbox } = await loadDist<InboxModule>('src/intake/inbox.js');
const { silentLogger } = await loadDist<LoggerModule>('src/log/logger.js');

const DROPS = 200;
const BLOCK = 25;
const WINDOW_MS = 10_000;
const WINDOWS = 2;
/**
 * Before an idle window: chokidar's short timers (its 100 ms unlink grace) run out, and so
 * do V8's memory-reducer collections of the garbage of what ran before (they start some
 * seconds after a process goes quiet), which would otherwise be counted as the idle cost.
 */
const SETTLE_MS = 15_000;
/** Any single drop not seen within this fails the benchmark instead of hanging it. */
const DROP_TIMEOUT_MS = 10_000;

const report = new Report('inbox', '18. File-drop inbox');
const root = mkdtempSync(path.join(os.tmpdir(), 'coord-bench-inbox-'));
const staging = path.join(root, 'staging');
mkdirSync(staging);
const text = JSON.stringify({ tasks: [{ id: 'bench', run: ['true'] }] });

/** A watcher under test: `seen(name)` resolves once it has seen (and, for an inbox, handled) `name`. */
interface Subject {
  label: string;
  dir: string;
  samples: number[];
  /** Resolves with the time `name` was detected, once the subject is ready for the next drop. */
  seen(name: string): Promise<number>;
  close(): Promise<void>;
}

function waiters(): { expect(name: string): Promise<number>; hit(name: string, at: number): void } {
  const pending = new Map<string, (at: number) => void>();
  return {
    expect: (name) => new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name} was not seen within ${DROP_TIMEOUT_MS} ms`)), DROP_TIMEOUT_MS);
      pending.set(name, (at) => {
        clearTimeout(timer);
        resolve(at);
      });
    }),
    hit: (name, at) => {
      pending.get(name)?.(at);
      pending.delete(name);
    },
  };
}

async function inboxSubject(label: string, quietMs: number | undefined): Promise<Subject> {
  const dir = path.join(root, label.replace(/\W+/g, '-'));
  const submitted = new Map<string, number>();
  const done = waiters();
  const inbox = watchInbox({
    dir, nodeId: 'bench', logger: silentLogger(), ...(quietMs === undefined ? {} : { quietMs }),
    submit: async (_tasks, file) => {
      submitted.set(file, performance.now());
      return [];
    },
    onAccepted: ({ file }) => done.hit(file, submitted.get(file) ?? Number.NaN),
  });
  await inbox.ready;
  return { label, dir, samples: [], seen: (name) => done.expect(name), close: () => inbox.close() };
}

function bareSubject(label: string): Subject {
  const dir = path.join(root, 'bare');
  mkdirSync(dir);
  const first = waiters();
  const watcher: FSWatcher = watch(dir, (_event, name) => {
    if (name !== null) first.hit(name, performance.now());
  });
  return { label, dir, samples: [], seen: (name) => first.expect(name), close: async () => watcher.close() };
}

let sequence = 0;
/** Drops one file into `subject`'s folder; the ms from just before the rename to its detection. */
async function drop(subject: Subject): Promise<number> {
  const name = `drop-${++sequence}.json`;
  const staged = path.join(staging, name);
  writeFileSync(staged, text);
  const seen = subject.seen(name);
  const started = performance.now();
  renameSync(staged, path.join(subject.dir, name));
  return (await seen) - started;
}

// ─── 1. Detection latency ───

const bare = bareSubject('bare `fs.watch` (first event)');
const fast = await inboxSubject('`watchInbox`, `quietMs: 0`', 0);
const inbox = await inboxSubject('`watchInbox` (default: `quietMs` 50)', undefined);
const subjects = [bare, fast, inbox];
try {
  // A warm-up drop each, not counted: the first read loads the YAML/zod code paths.
  for (const subject of subjects) await drop(subject);
  for (let done = 0; done < DROPS; done += BLOCK) {
    for (const subject of subjects) {
      for (let i = 0; i < BLOCK; i++) subject.samples.push(await drop(subject));
    }
  }
} finally {
  await Promise.all([bare.close(), fast.close()]);
}
const summaries = new Map<Subject, Summary>(subjects.map((subject) => [subject, summarize(subject.samples)]));
const bareMedian = summaries.get(bare)?.median ?? Number.NaN;
report.text(
  `${DROPS} drops into each watched folder: a one-task JSON file written outside the folder on the same filesystem, `
  + 'then renamed in. Measured from just before the rename to the inbox\'s no-op `submit` call, or to the bare '
  + '`fs.watch`\'s first event naming the file. Each drop waits for the previous one to be done (in accepted/ for an '
  + `inbox), and the three take turns in blocks of ${BLOCK}, so each drop meets an idle watcher.`,
);
report.table(null, ['watcher', 'drops', 'median ms', 'p25–p75 ms', 'p99 ms', 'max ms', 'median ÷ bare'], subjects.map((subject) => {
  const s = summaries.get(subject) as Summary;
  return [subject.label, String(s.n), fmt(s.median, 2), iqr(s, 2), fmt(s.p99, 2), fmt(s.max, 2), ratio(s.median, bareMedian)];
}));

// ─── 2. Idle cost ───

interface IdleWindow { cpuMs: number; wakeUps: number; timers: number; resources: string; gcs: number; gcMs: number }

/** Ten quiet seconds: CPU used, callbacks run and timers armed, the window's own timer left out. */
async function idleWindow(): Promise<IdleWindow> {
  await sleep(SETTLE_MS);
  const types = new Map<number, string>();
  let wakeUps = 0;
  const hook = createHook({
    init: (asyncId, type) => void types.set(asyncId, type),
    before: (asyncId) => {
      if (types.get(asyncId) !== 'PROMISE') wakeUps++;
    },
  });
  // V8's own record of collections: nothing in JavaScript runs for it during the window.
  const gcProfiler = new v8.GCProfiler();
  gcProfiler.start();
  hook.enable();
  const cpu = process.cpuUsage();
  // The window's own two timers: its end, armed throughout, and its middle, which fires once.
  const end = sleep(WINDOW_MS);
  const resources = await sleep(WINDOW_MS / 2).then(() => process.getActiveResourcesInfo());
  await end;
  const used = process.cpuUsage(cpu);
  hook.disable();
  const gcs = gcProfiler.stop()?.statistics ?? [];
  const counted = resources.reduce((counts, type) => counts.set(type, (counts.get(type) ?? 0) + 1), new Map<string, number>());
  // In the middle, the end timer is armed (the middle's own, firing, is not listed).
  counted.set('Timeout', (counted.get('Timeout') ?? 0) - 1);
  const listed = [...counted].filter(([, n]) => n > 0).map(([type, n]) => `${type} ×${n}`).join(', ');
  return {
    cpuMs: (used.user + used.system) / 1000, wakeUps: wakeUps - 2, timers: counted.get('Timeout') ?? 0, resources: listed,
    gcs: gcs.length, gcMs: gcs.reduce((total, gc) => total + gc.cost, 0) / 1000,
  };
}

const idle: { inbox: IdleWindow[]; bare: IdleWindow[] } = { inbox: [], bare: [] };
const handled = inbox.samples.length + 1;
await inbox.close();
for (let i = 0; i < WINDOWS; i++) {
  const again = await inboxSubject(`idle inbox ${i}`, undefined);
  // A few files handled first, so the window follows real work, as a daemon's would.
  for (let n = 0; n < 5; n++) await drop(again);
  idle.inbox.push(await idleWindow());
  await again.close();
  rmSync(path.join(root, 'bare'), { recursive: true, force: true });
  const plain = bareSubject('bare');
  idle.bare.push(await idleWindow());
  await plain.close();
}
rmSync(root, { recursive: true, force: true });

const idleRow = (label: string, windows: IdleWindow[]): string[] => {
  const cpu = summarize(windows.map((w) => w.cpuMs));
  return [label, String(windows.length), fmt(cpu.median, 2), `${fmt(cpu.min, 2)}–${fmt(cpu.max, 2)}`, fmt((cpu.median / WINDOW_MS) * 100, 4),
    windows.map((w) => String(w.wakeUps)).join(', '), windows.map((w) => String(w.timers)).join(', '),
    windows.map((w) => `${w.gcs} (${fmt(w.gcMs, 1)} ms)`).join(', '), windows[0]?.resources ?? ''];
};
report.text(
  `${WINDOWS} windows of ${WINDOW_MS / 1000} s each, alternating: the inbox watching its folder, ${SETTLE_MS / 1000} s after it `
  + `handled 5 files (a fresh one each time; ${handled} were handled in the latency runs before), then a bare \`fs.watch\` on a `
  + `folder with the inbox closed, also ${SETTLE_MS / 1000} s after the previous window. Both in this benchmark's `
  + 'own process, so the bare row is also what the process costs idle on its own. Wake-ups are JavaScript callbacks run in the '
  + 'window; timers and handles are what was armed in its middle (the window\'s own timers left out).',
);
const inboxIdle = summarize(idle.inbox.map((w) => w.cpuMs));
const bareIdle = summarize(idle.bare.map((w) => w.cpuMs));
report.table(null, ['watcher', 'windows', 'CPU ms / window (median)', 'CPU ms range', 'CPU %', 'wake-ups per window', 'timers armed', 'GCs (their time)', 'handles in the middle of the window'], [
  idleRow('bare `fs.watch`', idle.bare),
  idleRow('`watchInbox`', idle.inbox),
]);
const wakeUps = idle.inbox.reduce((total, w) => total + w.wakeUps, 0);
const timers = idle.inbox.reduce((total, w) => total + w.timers, 0);
report.text(
  `Idle, the inbox ran ${wakeUps} JavaScript callbacks and had ${timers} timers armed over its ${WINDOWS} windows, and used `
  + `${ratio(inboxIdle.median, bareIdle.median)} the CPU of the bare watch: nothing is polled, and a quiet or settle timer exists `
  + 'only while a file is waiting. Its only handle is chokidar\'s `fs.watch` on the folder (the two pipes are this process\'s '
  + 'stdout and stderr). The few milliseconds of CPU both rows show are the process\'s own threads (V8\'s and libuv\'s), '
  + 'not the watch: no JavaScript ran, and the GC column says whether V8 collected meanwhile. '
  + 'The latency over the bare watch is mostly the 50 ms quiet period, which lets a file written in place in several '
  + 'writes be read once, whole; the `quietMs: 0` row is the cost of the rest (chokidar, reading and validating the file '
  + 'twice, the claim).',
);
report.write();
