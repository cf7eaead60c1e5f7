/**
 * Live progress on stderr. On a TTY: one line of counts per status, redrawn in place, with
 * task events printed above it. Elsewhere (CI logs, pipes): plain lines, one per event.
 */
import path from 'node:path';
import type { SupervisorEventBus, SupervisorEventName, SupervisorEvents } from '../supervisor/events.js';

export interface ProgressSource {
  events: SupervisorEventBus;
  counts(): Partial<Record<string, number>>;
  state(): string;
}

const ORDER = ['pending', 'ready', 'assigned', 'running', 'complete', 'failed', 'dead', 'blocked', 'cancelled'] as const;

/** Formats the counts line, e.g. `running · ready 2 · running 4 · complete 10/16`. */
export function formatCounts(state: string, counts: Partial<Record<string, number>>): string {
  const total = ORDER.reduce((sum, status) => sum + (counts[status] ?? 0), 0);
  const parts = ORDER.filter((status) => (counts[status] ?? 0) > 0 && status !== 'complete').map((status) => `${status} ${counts[status]}`);
  return [`[${state}]`, ...parts, `complete ${counts.complete ?? 0}/${total}`].join(' · ');
}

/**
 * A failed attempt: what and why, then the last lines the task printed and where its whole
 * output is, e.g.
 *
 * ```
 * 12:00:01 ✖ lint failed: TASK_EXIT_NONZERO exited with code 127
 *            │ sh: 1: eslint: not found
 *            log: .git/coord/logs/tasks/lint/attempt-1.log
 * ```
 */
export function formatFailure(time: string, e: SupervisorEvents['coord:failed']): string {
  const indent = ' '.repeat(time.length + 3);
  return [
    `${time} ✖ ${e.taskId} failed: ${e.error.code} ${e.error.message}${e.willRetry ? ' (will retry)' : ''}`,
    ...e.output.map((text) => `${indent}│ ${text}`),
    ...(e.logFile === null ? [] : [`${indent}log: ${relativeToCwd(e.logFile)}`]),
  ].join('\n');
}

/** A path as short as the user can still paste it: relative to the current directory when inside it. */
function relativeToCwd(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

/** Starts reporting to `out`; returns a function that stops and clears the live line. */
export function reportProgress(source: ProgressSource, out: NodeJS.WriteStream = process.stderr): () => void {
  const tty = out.isTTY === true;
  let drawn = false;
  const redraw = (): void => {
    if (!tty) return;
    out.write(`\r\x1b[2K${formatCounts(source.state(), source.counts())}`);
    drawn = true;
  };
  const line = (text: string): void => {
    if (tty && drawn) out.write('\r\x1b[2K');
    out.write(`${text}\n`);
    redraw();
  };
  const time = (): string => new Date().toISOString().slice(11, 19);
  const on = <K extends SupervisorEventName>(name: K, listener: (e: SupervisorEvents[K]) => void): (() => void) => {
    source.events.on(name, listener);
    return () => source.events.off(name, listener);
  };
  const unsubscribe = [
    on('coord:started', (e) =>
      line(`${time()} ▶ ${e.taskId} started on ${e.workerId}${e.attempt > 1 ? ` (attempt ${e.attempt})` : ''}`),
    ),
    on('coord:complete', (e) => line(`${time()} ✔ ${e.taskId} complete on ${e.workerId}`)),
    on('coord:failed', (e) => line(formatFailure(time(), e))),
    on('coord:waiting', (e) =>
      line(`${time()} ⏸ ${e.taskId} has printed nothing for ${Math.round(e.quietMs / 1000)} s: waiting for input?${e.lastLine === null ? '' : ` last line: ${e.lastLine}`}`),
    ),
    on('coord:dead', (e) => line(`${time()} ☠ ${e.taskId} dead (${e.error.code})`)),
    on('coord:blocked', (e) => line(`${time()} ⊘ ${e.taskId} blocked: ${e.error.message}`)),
    on('coord:worker-failed', (e) => line(`${time()} ! worker ${e.workerId} failed (exit ${e.code ?? e.signal})`)),
    on('coord:worker-cooling', (e) => line(`${time()} ! worker ${e.workerId} keeps crashing: cooling down for ${Math.round(e.delayMs / 1000)} s`)),
    on('coord:state', () => (tty ? redraw() : line(formatCounts(source.state(), source.counts())))),
  ];
  const timer = tty ? setInterval(redraw, 250) : undefined;
  timer?.unref();
  return () => {
    if (timer) clearInterval(timer);
    for (const off of unsubscribe) off();
    if (tty && drawn) out.write(`\r\x1b[2K${formatCounts(source.state(), source.counts())}\n`);
  };
}
