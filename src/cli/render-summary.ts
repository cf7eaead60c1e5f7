/**
 * The human end-of-run summary: one row per task, then one line of totals.
 */
import { plural } from '../plural.js';
import type { RunSummary } from '../supervisor/summary.js';

const MAX_NOTE = 70;

/** Renders the summary as an aligned text table. */
export function renderSummary(summary: RunSummary): string {
  const rows = summary.tasks.map((task) => {
    const ms = task.startedAt && task.finishedAt ? Date.parse(task.finishedAt) - Date.parse(task.startedAt) : null;
    const note = task.error
      ? `${task.error.code}: ${task.error.message}`
      : task.result !== null && task.result !== undefined
        ? `result ${JSON.stringify(task.result)}`
        : task.commit
          ? `${task.branch} @ ${task.commit.slice(0, 8)}`
          : '';
    return [task.id, task.status, task.worker ?? '-', String(task.attempts), ms === null ? '-' : `${(ms / 1000).toFixed(1)}s`, truncate(note)];
  });
  const header = ['task', 'status', 'worker', 'tries', 'time', 'note'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]?.length ?? 0)));
  const line = (cells: string[]): string => cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  const counts = Object.entries(summary.counts)
    .filter(([, n]) => n > 0)
    .map(([status, n]) => `${n} ${status}`)
    .join(', ');
  const error = summary.coordinator.error ? `\ncoordinator ${summary.coordinator.state}: ${summary.coordinator.error.code} ${summary.coordinator.error.message}` : '';
  return [line(header), ...rows.map(line), '', `${plural(summary.tasks.length, 'task')}: ${counts || 'none'}${error}`].join('\n');
}

function truncate(text: string): string {
  return text.length > MAX_NOTE ? `${text.slice(0, MAX_NOTE - 1)}…` : text;
}
