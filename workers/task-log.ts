/**
 * The log file of one task attempt: everything the task's terminal printed, appended to the
 * path the assign message names, capped at the assign's `maxLogBytes` of output (head and
 * tail kept, see capped-output.ts), with a trailer line coord's summary reads back. A log that
 * cannot be written is reported in the worker's own log but never fails the task: the output
 * is a record, not the result.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { formatLogTrailer } from '../src/log/task-log-format.js';
import { createCappedOutput } from './capped-output.js';
import { errorFields, type Logger } from './log.js';

/** An open task log. */
export interface TaskLog {
  /** Task output: counted against the cap. */
  write(text: string): void;
  /** One of coord's own lines (header, timeout, `ended:`): never capped or dropped. */
  note(text: string): void;
  /** Writes the kept tail and the trailer, ends the file, and resolves once everything is on disk (never rejects). */
  close(): Promise<void>;
}

/**
 * Opens (appending; creating parent directories) the log at `file`, keeping at most
 * `capBytes` of task output.
 *
 * @example
 * const log = await openTaskLog('/state/logs/t1.1.log', 52_428_800, logger);
 * log.note('[coord] header\n');
 * log.write('hello\n');
 * await log.close();
 */
export async function openTaskLog(file: string, capBytes: number, logger: Logger): Promise<TaskLog> {
  let stream: WriteStream;
  try {
    await mkdir(path.dirname(file), { recursive: true });
    stream = createWriteStream(file, { flags: 'a' });
  } catch (error) {
    logger.log('error', 'cannot open task log; output is discarded', { logFile: file, ...errorFields(error) });
    return { write: () => undefined, note: () => undefined, close: () => Promise.resolve() };
  }
  let failed = false;
  // Opening is asynchronous: an EACCES or EISDIR arrives here, after the first writes.
  stream.on('error', (error) => {
    if (!failed) logger.log('error', 'task log write failed; further output is discarded', { logFile: file, ...errorFields(error) });
    failed = true;
  });
  const closed = new Promise<void>((resolve) => {
    stream.once('close', resolve);
  });
  // Backpressure is not waited for: the PTY cannot be paused per log, and what the stream
  // can have queued is bounded by the cap (the head) plus the tail written once at close.
  const capped = createCappedOutput(capBytes, (chunk) => {
    if (!failed) stream.write(chunk);
  });
  return {
    write: (text) => capped.output(text),
    note: (text) => capped.note(text),
    close() {
      if (failed) {
        stream.destroy();
      } else {
        stream.end(formatLogTrailer(capped.finish()));
      }
      return closed;
    },
  };
}
