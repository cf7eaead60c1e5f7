/**
 * The merge queue's test logs: one file per test run in `<dir>/logs`, numbered in the order
 * the runs started (the numbering goes on from the files already there, so a restarted
 * queue never overwrites a log), named after the first task of the candidate; and the tail
 * of a run's output that a failed entry's state carries.
 */

/** Lines of output a test-failed state keeps. */
export const OUTPUT_TAIL_LINES = 40;

/** `<n>-<taskId>.log`, the task id reduced to characters safe in a file name. */
export function logFileName(n: number, taskId: string): string {
  return `${n}-${taskId.replace(/[^A-Za-z0-9._-]/g, '_')}.log`;
}

/** The number after the highest `<n>-….log` among `names` (1 when there is none). */
export function nextLogNumber(names: readonly string[]): number {
  let highest = 0;
  for (const name of names) {
    const match = /^(\d+)-.*\.log$/.exec(name);
    if (match?.[1] !== undefined) highest = Math.max(highest, Number(match[1]));
  }
  return highest + 1;
}

/** The last `count` lines of `text`, without the empty line after a final newline; `\r\n` counts as one break. */
export function lastLines(text: string, count = OUTPUT_TAIL_LINES): string[] {
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  return count <= 0 ? [] : lines.slice(-count);
}
