/**
 * The commands that read or change a repository's coord state with or without a supervisor
 * running: `coord status`, `coord tasks`, `coord task ID`, `coord logs ID`, `coord redrive`.
 * Each prints for people by default and JSON with `--json`; each resolves with its exit code.
 */
import { createReadStream, existsSync, watch } from 'node:fs';
import { open as openFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { CoordError } from '../errors.js';
import { describeHolder } from '../locks/file-lock.js';
import { parseLogTrailer } from '../log/task-log-format.js';
import { plural } from '../plural.js';
import type { StoredEvent, TaskRecord, TaskStatus, TaskStore } from '../store/task-store.js';
import { taskLogFile } from '../supervisor/dispatch/assign-message.js';
import { taskHistory } from '../supervisor/history.js';
import { buildSummary, type TaskSummary } from '../supervisor/summary.js';
import { mailboxesOf, type MailboxSummary } from '../supervisor/mailbox/operator.js';
import { supervisorOn, withStateStore, type StateFlags, type StateLocation } from './state.js';

/** Where output goes (stdout and stderr by default; tests pass their own). */
export interface Out {
  out(text: string): void;
  err(text: string): void;
}

export const processOut: Out = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

const STATUS_ORDER: readonly TaskStatus[] = ['pending', 'ready', 'assigned', 'running', 'failed', 'complete', 'dead', 'blocked', 'cancelled'];

/** `14 tasks: 9 complete · 4 dead · 1 blocked` */
export function describeCounts(counts: Partial<Record<string, number>>): string {
  const total = STATUS_ORDER.reduce((sum, status) => sum + (counts[status] ?? 0), 0);
  const parts = STATUS_ORDER.filter((status) => (counts[status] ?? 0) > 0).map((status) => `${counts[status]} ${status}`);
  return `${plural(total, 'task')}${parts.length > 0 ? `: ${parts.join(' · ')}` : ''}`;
}

/** The tasks as the run summary shows them (the same fields as `--summary`). */
async function summarize(store: TaskStore, location: StateLocation, tasks: TaskRecord[], withMailboxes = false): Promise<TaskSummary[]> {
  const mailboxes = withMailboxes ? await mailboxesOf(store, tasks) : new Map<string, MailboxSummary>();
  const summary = await buildSummary({
    state: 'stopped', error: null, repo: location.repo ?? undefined, startedAt: new Date().toISOString(), workers: [], tasks,
    counts: await store.counts(), usage: { of: () => undefined, sessionOf: () => undefined }, liveness: new Map(), taskLogDir: path.join(location.stateDir, 'logs', 'tasks'),
    mailboxes,
  });
  return summary.tasks;
}

/** `coord status`: the counts, whether a supervisor runs here, what is in flight, the last events. */
export async function statusCommand(flags: StateFlags & { json?: boolean | undefined }, io: Out = processOut): Promise<number> {
  return withStateStore(flags, 'read', async (store, location) => {
    const supervisor = supervisorOn(location.stateDir);
    const counts = await store.counts();
    const inFlight = await store.inFlight();
    const events = await store.latestEvents(10);
    if (flags.json) {
      io.out(`${JSON.stringify({
        stateDir: location.stateDir, store: location.storeUrl, supervisor: supervisor.running ? { running: true, holder: supervisor.holder } : { running: false },
        counts, inFlight, events,
      }, null, 2)}\n`);
      return 0;
    }
    const lines = [
      `coord state ${location.stateDir} (store ${location.storeUrl})`,
      `supervisor: ${supervisor.running ? `running, ${describeHolder(supervisor.holder)}` : 'not running'}`,
      describeCounts(counts),
      ...(inFlight.length > 0 ? ['in flight:', ...inFlight.map((held) => `  ${held.taskId} on ${held.nodeId}/${held.workerId}`)] : []),
      ...(events.length > 0 ? ['last events:', ...events.map(describeEvent)] : []),
    ];
    io.out(`${lines.join('\n')}\n`);
    return 0;
  });
}

function describeEvent(event: StoredEvent): string {
  const code = typeof event.data['code'] === 'string' ? ` ${event.data['code']}` : '';
  return `  ${new Date(event.at).toISOString().replace('T', ' ').slice(0, 19)} ${event.type}${event.taskId ? ` ${event.taskId}` : ''}${code}`;
}

/** `coord tasks [--status S] [--json]`: one line per task. */
export async function tasksCommand(flags: StateFlags & { json?: boolean | undefined; status?: string | undefined }, io: Out = processOut): Promise<number> {
  if (flags.status !== undefined && !(STATUS_ORDER as readonly string[]).includes(flags.status)) {
    throw new CoordError('USAGE', `--status must be one of ${STATUS_ORDER.join(', ')}, not "${flags.status}"`);
  }
  return withStateStore(flags, 'read', async (store, location) => {
    const all = await store.list();
    const tasks = await summarize(store, location, all.filter((task) => flags.status === undefined || task.status === flags.status));
    if (flags.json) {
      io.out(`${JSON.stringify(tasks, null, 2)}\n`);
      return 0;
    }
    const rows = tasks.map((task) => [task.id, task.status, String(task.attempts), task.worker ?? '-', task.error ? `${task.error.code}: ${task.error.message}` : task.commit ? `${task.branch} @ ${task.commit.slice(0, 8)}` : '']);
    io.out(`${table([['task', 'status', 'tries', 'worker', 'note'], ...rows])}\n${describeCounts(countBy(all))}\n`);
    return 0;
  });
}

/** Tokens and cost for people: `1,200 in · 80 out · 300 cached · $0.0067`. */
export function describeUsage(usage: { inputTokens: number; outputTokens: number; cacheReadTokens: number; cacheWriteTokens: number; costUsd: number }): string {
  const n = (value: number): string => value.toLocaleString('en-US');
  const cached = usage.cacheReadTokens + usage.cacheWriteTokens;
  return [`${n(usage.inputTokens)} in`, `${n(usage.outputTokens)} out`, ...(cached > 0 ? [`${n(cached)} cached`] : []), `$${usage.costUsd.toFixed(4)}`].join(' · ');
}

/** `coord task ID [--json]`: one task whole — status, branch, dependencies, error, log, every start. */
export async function taskCommand(flags: StateFlags & { json?: boolean | undefined; id: string }, io: Out = processOut): Promise<number> {
  return withStateStore(flags, 'read', async (store, location) => {
    const record = await requireTask(store, flags.id);
    const [task] = await summarize(store, location, [record], true);
    if (!task) throw new CoordError('INTERNAL', `task "${flags.id}" could not be summarized`);
    if (flags.json) {
      io.out(`${JSON.stringify({ ...task, deps: record.spec.deps, dependents: record.dependents, spec: record.spec }, null, 2)}\n`);
      return 0;
    }
    const lines = [
      `${task.id}: ${task.status}${task.attempts > 0 ? ` after ${plural(task.attempts, 'attempt')}` : ''}`,
      `  branch   ${task.branch}${task.commit ? ` @ ${task.commit}` : ''}`,
      `  runs     ${record.spec.run ? JSON.stringify(record.spec.run) : record.spec.agent ? `agent ${record.spec.agent}${record.spec.model ? ` (${record.spec.model})` : ''}` : `module ${record.spec.module ?? ''}`}`,
      ...(task.session ? [`  session  ${task.session.agent} ${task.session.id}`] : []),
      ...(task.usage ? [`  usage    ${describeUsage(task.usage)}`] : []),
      ...(task.rateLimitWaits > 0 ? [`  waited   ${plural(task.rateLimitWaits, 'rate limit')} out`] : []),
      ...(record.spec.deps.length > 0 ? [`  deps     ${record.spec.deps.join(', ')}`] : []),
      ...(record.dependents.length > 0 ? [`  needed by ${record.dependents.join(', ')}`] : []),
      ...(task.error ? [`  error    ${task.error.code}: ${task.error.message}`] : []),
      ...(task.logFile ? [`  log      ${task.logFile}`] : []),
      ...mailboxLines(task.mailbox),
      ...(task.history.length > 0 ? ['  history', ...task.history.map((start) => `    ${start.released ? 'released' : `attempt ${start.attempt}`} on ${start.node ?? '?'}/${start.worker}: ${start.released ? start.releaseReason : start.code ?? (start.finishedAt ? 'ok' : 'in flight')}${start.message ? ` — ${start.message}` : ''} (${start.startedAt ?? start.assignedAt} → ${start.finishedAt ?? start.releasedAt ?? '…'})`)] : []),
    ];
    io.out(`${lines.join('\n')}\n`);
    return 0;
  });
}

/** The mailbox part of `coord task ID`: the thread, each delivery with its tries, the overrides. */
function mailboxLines(mailbox: MailboxSummary | null): string[] {
  if (mailbox === null) return [];
  const lines = [`  mailbox  ${plural(mailbox.messages.length, 'message')}, ${mailbox.unread} unread${mailbox.session ? ` (session ${mailbox.session})` : ''}`];
  for (const m of mailbox.messages.slice(-5)) lines.push(`    #${m.seq} ${m.at} from ${m.source}: ${m.text.split('\n')[0]?.slice(0, 100) ?? ''}`);
  for (const d of mailbox.deliveries) {
    lines.push(`    delivery ${d.id} (up to #${d.uptoSeq}): ${d.status}${d.stage === 'recovered' ? '' : `, ${d.stage}`}${d.route ? ` via ${d.route}` : ''}`);
    for (const a of d.attempts) lines.push(`      ${a.at} ${a.outcome} ${a.code}${a.detail ? ` — ${a.detail}` : ''}`);
  }
  for (const o of mailbox.overrides) lines.push(`    override ${o.at} of ${o.code}: ${o.reason}`);
  return lines;
}

/** `coord logs ID [--attempt N] [--follow]`: an attempt's output log (the latest that started by default). */
export async function logsCommand(flags: StateFlags & { id: string; attempt?: number | undefined; follow?: boolean | undefined }, io: Out = processOut): Promise<number> {
  const file = await withStateStore(flags, 'read', async (store, location) => {
    const record = await requireTask(store, flags.id);
    const started = taskHistory(record).filter((start) => start.startedAt !== null);
    const attempt = flags.attempt ?? started.at(-1)?.attempt;
    if (attempt === undefined) throw new CoordError('TASK_NOT_FOUND', `task "${flags.id}" has not started yet: it has no log`);
    const log = taskLogFile(path.join(location.stateDir, 'logs', 'tasks'), flags.id, attempt);
    if (!existsSync(log)) throw new CoordError('TASK_NOT_FOUND', `attempt ${attempt} of "${flags.id}" has no log (${log})`);
    return log;
  });
  if (!flags.follow) {
    await pipeFile(file, 0, io);
    return 0;
  }
  await followFile(file, io);
  return 0;
}

/** `coord redrive ID… | --dead`: dead tasks back to ready, their blocked dependents back in play. */
export async function redriveCommand(flags: StateFlags & { ids: string[]; dead?: boolean | undefined }, io: Out = processOut): Promise<number> {
  if (flags.ids.length === 0 && !flags.dead) throw new CoordError('USAGE', 'name the dead tasks to redrive, or pass --dead for all of them');
  return withStateStore(flags, 'write', async (store, location) => {
    const ids = flags.dead ? (await store.list()).filter((task) => task.status === 'dead').map((task) => task.spec.id) : flags.ids;
    if (ids.length === 0) {
      io.out('no dead task: nothing to redrive\n');
      return 0;
    }
    let refused = 0;
    for (const id of ids) {
      const changed = await store.redrive(id, Date.now());
      if (changed.length === 0) {
        refused += 1;
        io.err(`coord: TASK_NOT_FOUND: task "${id}" is not dead (or does not exist): nothing to redrive\n`);
      } else {
        io.out(`redrove ${id}${changed.length > 1 ? ` and ${plural(changed.length - 1, 'dependent')} (${changed.filter((c) => c !== id).join(', ')})` : ''}\n`);
      }
    }
    const supervisor = supervisorOn(location.stateDir);
    io.out(supervisor.running ? 'the running supervisor picks them up now\n' : 'they run at the next start (coord --tasks … or coord with no task file resumes the stored queue)\n');
    return refused > 0 ? 1 : 0;
  });
}

async function requireTask(store: TaskStore, id: string): Promise<TaskRecord> {
  const record = await store.get(id);
  if (!record) throw new CoordError('TASK_NOT_FOUND', `no task "${id}" in the store (coord tasks lists them)`);
  return record;
}

function countBy(tasks: readonly TaskRecord[]): Partial<Record<TaskStatus, number>> {
  const counts: Partial<Record<TaskStatus, number>> = {};
  for (const task of tasks) counts[task.status] = (counts[task.status] ?? 0) + 1;
  return counts;
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0))).join('  ').trimEnd()).join('\n');
}

/** Writes `file` from byte `from` to its current end; resolves with the new end. */
async function pipeFile(file: string, from: number, io: Out): Promise<number> {
  const { size } = await stat(file);
  if (size <= from) return from;
  await new Promise<void>((resolve, reject) => {
    createReadStream(file, { start: from, end: size - 1, encoding: 'utf8' }).on('data', (chunk) => io.out(String(chunk))).on('end', resolve).on('error', reject);
  });
  return size;
}

/** Writes the log as it grows (file system events, not polling) until coord closes it with its trailer line. */
async function followFile(file: string, io: Out): Promise<void> {
  let offset = await pipeFile(file, 0, io);
  if (await closedByCoord(file)) return;
  await new Promise<void>((resolve, reject) => {
    let busy = Promise.resolve();
    const watcher = watch(file, () => {
      busy = busy.then(async () => {
        offset = await pipeFile(file, offset, io);
        if (await closedByCoord(file)) {
          watcher.close();
          resolve();
        }
      }).catch((error: unknown) => {
        watcher.close();
        reject(error);
      });
    });
  });
}

async function closedByCoord(file: string): Promise<boolean> {
  const handle = await openFile(file, 'r');
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, 4_096);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    return parseLogTrailer(buffer.toString('utf8')) !== null;
  } finally {
    await handle.close();
  }
}
