/**
 * The shape of a capped attempt log, shared by the worker that writes it and the supervisor
 * that reads it back: the cap's limits, the elision note, and the trailer line that makes a
 * log's size and truncation recoverable from the file alone (after a restart, the file is
 * all there is).
 */

/** Default cap on the task output kept in one attempt's log: 50 MiB. */
export const DEFAULT_MAX_LOG_BYTES = 52_428_800;
/** Smallest cap: below a few KiB the head and tail say nothing. */
export const MIN_LOG_BYTES = 4_096;
/** Largest cap: the tail half is held in memory while the task runs. */
export const MAX_LOG_BYTES = 1_073_741_824;

/** What the trailer says about one attempt's log. */
export interface LogTrailer {
  /** Bytes the task printed (coord's own lines not included). */
  outputBytes: number;
  /** Of those, the bytes kept in the file. */
  keptBytes: number;
  capBytes: number;
  truncated: boolean;
}

/** The line between the head and the tail of a truncated log. */
export function elisionNote(elidedBytes: number, capBytes: number): string {
  return `\n[coord] … ${elidedBytes} bytes elided (log capped at ${capBytes} bytes) …\n`;
}

/** The last line of every attempt log coord closes. */
export function formatLogTrailer(trailer: LogTrailer): string {
  return `[coord] log: outputBytes=${trailer.outputBytes} keptBytes=${trailer.keptBytes} `
    + `capBytes=${trailer.capBytes} truncated=${trailer.truncated}\n`;
}

const TRAILER = /\n\[coord\] log: outputBytes=(\d+) keptBytes=(\d+) capBytes=(\d+) truncated=(true|false)\n$/;

/**
 * Reads the trailer from the end of a log (a few KiB are enough). Only a trailer that is the
 * very last line counts: a log without one was not closed by coord (the attempt is still
 * running, or its worker died), and a task that prints a look-alike earlier is not believed.
 */
export function parseLogTrailer(end: string): LogTrailer | null {
  const match = TRAILER.exec(end.startsWith('[coord] log:') ? `\n${end}` : end);
  if (!match) return null;
  const [, outputBytes = '', keptBytes = '', capBytes = '', truncated] = match;
  return { outputBytes: Number(outputBytes), keptBytes: Number(keptBytes), capBytes: Number(capBytes), truncated: truncated === 'true' };
}
