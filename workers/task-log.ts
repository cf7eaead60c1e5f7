/**
 * The log file of one task attempt: everything the task's terminal printed, appended to the
 * path the assign message names. A log that cannot be written is reported in the worker's
 * own log but never fails the task: the output is a record, not the result.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { errorFields, type Logger } from './log.js';

/** An open task log. */
export interface TaskLog {
  write(text: string): void;
  /** Ends the file and resolves once everything is on disk (never rejects). */
  close(): Promise<void>;
}

/**
 * Opens (appending; creating parent directories) the log at `file`.
 *
 * @example
 * const log = await openTaskLog('/state/logs/t1.1.log', logger);
 * log.write('hello\n');
 * await log.close();
 */
export async function openTaskLog(file: string, logger: Logger): Promise<TaskLog> {
  let stream: WriteStream;
  try {
    await mkdir(path.dirname(file), { recursive: true });
    stream = createWriteStream(file, { flags: 'a' });
  } catch (error) {
    logger.log('error', 'cannot open task log; output is discarded', { logFile: file, ...errorFields(error) });
    return { write: () => undefined, close: () => Promise.resolve() };
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
  return {
    write(text) {
      if (!failed) stream.write(text);
    },
    close() {
      if (failed) {
        stream.destroy();
      } else {
        stream.end();
      }
      return closed;
    },
  };
}
