/**
 * 13. Mailbox: what reconciliation costs when nothing is to be delivered, and what opening
 * deliveries costs when everything is.
 *
 * A store (SQLite file; PostgreSQL schema) holds 1,000 agent threads. "Idle": each has had its
 * messages read (cursor at the latest message), as 1,000 sessions waiting overnight do. One
 * reconciliation pass is what the supervisor runs every `mailbox.pollMs` (5 s): the unread
 * threads without an open delivery, the deliveries awaiting a run, a claim of a due one (none),
 * and the time to the next due one — four statements, each in its own transaction, through
 * the build's store. The baseline, on the same database in the same run, is the one query a
 * reconciler cannot do without: the unread threads (`SELECT … WHERE latest_seq > read_seq`),
 * raw on the driver. "Busy": all 1,000 have one unread message; a pass opens 1,000 deliveries.
 *
 * Run: npm run bench -- mailbox
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { TaskStore } from '../src/store/task-store.js';
import { loadDist } from './lib/coord.js';
import { Report } from './lib/report.js';
import { fmt, ratio, summarize } from './lib/stats.js';

type OpenStore = typeof import('../src/store/open-store.js');
const { openStore } = await loadDist<OpenStore>('src/store/open-store.js');

const THREADS = 1_000;
const PASSES = 60;
const now = Date.now();

async function seed(store: TaskStore, read: boolean): Promise<void> {
  for (let i = 0; i < THREADS; i += 1) {
    const id = `agent-${i}`;
    await store.mailbox.post(id, { source: 'operator', text: `message for ${id}` }, now);
    if (read) await store.mailbox.markRead(id, `session-${i}`, 1, now);
  }
}

async function pass(store: TaskStore): Promise<number> {
  const started = performance.now();
  await store.mailbox.unread(THREADS);
  await store.mailbox.awaiting();
  await store.mailbox.claimTrigger('bench', 'lease', 30_000, now);
  await store.mailbox.nextTriggerDueMs(now);
  return performance.now() - started;
}

async function timed(times: number, body: () => Promise<unknown>): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < times; i += 1) {
    const started = performance.now();
    await body();
    ms.push(performance.now() - started);
  }
  return ms;
}

interface Row { backend: string; pass: number; baseline: number; open: number }
const rows: Row[] = [];

// SQLite
{
  const dir = mkdtempSync(path.join(os.tmpdir(), 'coord-bench-mailbox-'));
  const file = path.join(dir, 'coord.db');
  const store = await openStore(`sqlite:${file}`);
  await seed(store, true);
  const raw = new Database(file, { readonly: true });
  const unreadRaw = raw.prepare('SELECT task_id FROM threads WHERE latest_seq > read_seq');
  const passes = summarize(await timed(PASSES, () => pass(store)));
  const baseline = summarize(await timed(PASSES, async () => unreadRaw.all()));
  raw.close();
  const busy = await openStore(`sqlite:${path.join(dir, 'busy.db')}`);
  await seed(busy, false);
  const started = performance.now();
  for (const thread of await busy.mailbox.unread(THREADS)) await busy.mailbox.openTrigger(thread.taskId, thread.latestSeq, {}, now);
  const open = (performance.now() - started) / THREADS;
  await store.close();
  await busy.close();
  rmSync(dir, { recursive: true, force: true });
  rows.push({ backend: 'SQLite', pass: passes.median, baseline: baseline.median, open });
}

// PostgreSQL
{
  const schema = `bench_mailbox_${process.pid}`;
  const url = `postgres://postgres@127.0.0.1:5432/test?schema=${schema}`;
  const store = await openStore(url);
  await seed(store, true);
  const client = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/test' });
  await client.connect();
  const passes = summarize(await timed(PASSES, () => pass(store)));
  const baseline = summarize(await timed(PASSES, () => client.query(`SELECT task_id FROM "${schema}".threads WHERE latest_seq > read_seq`)));
  await client.query(`DROP SCHEMA "${schema}" CASCADE`);
  const busySchema = `${schema}_busy`;
  const busy = await openStore(`postgres://postgres@127.0.0.1:5432/test?schema=${busySchema}`);
  await seed(busy, false);
  const started = performance.now();
  for (const thread of await busy.mailbox.unread(THREADS)) await busy.mailbox.openTrigger(thread.taskId, thread.latestSeq, {}, now);
  const open = (performance.now() - started) / THREADS;
  await busy.close();
  await client.query(`DROP SCHEMA "${busySchema}" CASCADE`);
  await client.end();
  await store.close();
  rows.push({ backend: 'PostgreSQL', pass: passes.median, baseline: baseline.median, open });
}

const report = new Report('mailbox', '13. Mailbox reconciliation');
report.text(`${THREADS.toLocaleString('en')} agent threads; medians of ${PASSES} passes. A pass runs every \`mailbox.pollMs\` (5 s) and on every post and run end.`);
report.table(null, ['store', 'idle pass ms (1,000 read threads)', 'baseline: raw unread query ms', 'pass ÷ baseline', 'pass CPU share at one per 5 s', 'busy pass: ms per delivery opened'], rows.map((r) => [
  r.backend, fmt(r.pass, 2), fmt(r.baseline, 2), ratio(r.pass, r.baseline), `${fmt((r.pass / 5_000) * 100, 3)} %`, fmt(r.open, 3),
]));
report.write();
