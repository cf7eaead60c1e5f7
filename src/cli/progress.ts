/**
 * Live progress on stderr. On a TTY: one line of counts per status, redrawn in place, with
 * task events printed above it. Elsewhere (CI logs, pipes): plain lines, one per event.
 */
import type { SupervisorEventBus } from '../supervisor/events.js';

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
  const handlers = {
    'coord:started': (e: { taskId: string; workerId: string; attempt: number }) =>
      line(`${time()} ▶ ${e.taskId} started on ${e.workerId}${e.attempt > 1 ? ` (attempt ${e.attempt})` : ''}`),
    'coord:complete': (e: { taskId: string; workerId: string }) => line(`${time()} ✔ ${e.taskId} complete on ${e.workerId}`),
    'coord:failed': (e: { taskId: string; error: { code: string; message: string }; willRetry: boolean }) =>
      line(`${time()} ✖ ${e.taskId} failed: ${e.error.code} ${e.error.message}${e.willRetry ? ' (will retry)' : ''}`),
    'coord:dead': (e: { taskId: string; error: { code: string } }) => line(`${time()} ☠ ${e.taskId} dead (${e.error.code})`),
    'coord:blocked': (e: { taskId: string; error: { code: string; message: string } }) =>
      line(`${time()} ⊘ ${e.taskId} blocked: ${e.error.message}`),
    'coord:worker-failed': (e: { workerId: string; code: number | null; signal: string | null }) =>
      line(`${time()} ! worker ${e.workerId} failed (exit ${e.code ?? e.signal})`),
    'coord:state': () => (tty ? redraw() : line(formatCounts(source.state(), source.counts()))),
  } as const;
  for (const [name, handler] of Object.entries(handlers)) source.events.on(name as keyof typeof handlers, handler as never);
  const timer = tty ? setInterval(redraw, 250) : undefined;
  timer?.unref();
  return () => {
    if (timer) clearInterval(timer);
    for (const [name, handler] of Object.entries(handlers)) source.events.off(name as keyof typeof handlers, handler as never);
    if (tty && drawn) out.write(`\r\x1b[2K${formatCounts(source.state(), source.counts())}\n`);
  };
}
