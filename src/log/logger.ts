/**
 * Structured logs: pino JSON lines to a file in the state directory (everything at the
 * chosen level), and a terse human view of warnings and errors on stderr.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import pino, { type Logger, type Level } from 'pino';
import pretty from 'pino-pretty';

export type { Logger } from 'pino';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LoggerOptions {
  /** The JSON log file (created with its directory). */
  file: string;
  level?: LogLevel;
  /** Level of the human view on stderr; `silent` turns it off. Default `warn`. */
  stderrLevel?: LogLevel;
  /**
   * Called once when the log file cannot be written (ENOSPC, EIO…); later lines to the file
   * are dropped, the stderr view goes on. Without it, one line says so on stderr.
   */
  onError?: (error: unknown) => void;
}

/** How to change a logger's file level later ({@link setLogLevel}), by logger. */
const levelSetters = new WeakMap<Logger, (level: LogLevel) => void>();

/** A logger writing JSON to `file` and a one-line human view to stderr. */
export function createLogger(options: LoggerOptions): Logger {
  mkdirSync(path.dirname(options.file), { recursive: true });
  const stderrLevel = options.stderrLevel ?? 'warn';
  const streams: pino.StreamEntry[] = [];
  if (stderrLevel !== 'silent') {
    streams.push({
      level: stderrLevel as Level,
      stream: pretty({ destination: 2, sync: true, colorize: process.stderr.isTTY, translateTime: 'HH:MM:ss', ignore: 'pid,hostname', singleLine: true }),
    });
  }
  const multistream = pino.multistream(streams);
  const file = guardedFile(options.file, options.onError);
  const logger = pino({ level: 'info', base: { pid: process.pid } }, multistream);
  let fileStreamId: number | undefined;
  const setLevel = (level: LogLevel): void => {
    if (fileStreamId !== undefined) multistream.remove(fileStreamId);
    multistream.add({ level: level as Level, stream: file });
    fileStreamId = (multistream as typeof multistream & { lastId: number }).lastId;
    // The logger's own level must be the lowest of its streams', or it drops lines early.
    logger.level = LOG_LEVELS.indexOf(level) < LOG_LEVELS.indexOf(stderrLevel) ? level : stderrLevel;
  };
  setLevel(options.level ?? 'info');
  levelSetters.set(logger, setLevel);
  return logger;
}

/**
 * Changes what `logger` writes from now on: for a logger from {@link createLogger}, its
 * file's level (the stderr view keeps its own); for any other pino logger, its level.
 */
export function setLogLevel(logger: Logger, level: LogLevel): void {
  const setter = levelSetters.get(logger);
  if (setter) setter(level);
  else logger.level = level;
}

/**
 * The file destination, guarded: pino's destination emits 'error' when a write fails (a
 * full disk), and an 'error' event nobody listens to kills the process with no summary.
 * The first failure is reported once; after it the file is left alone (a half-written line
 * and then silence beats a stream of retries on a full disk).
 */
function guardedFile(file: string, onError: ((error: unknown) => void) | undefined): pino.DestinationStream {
  const destination = pino.destination({ dest: file, sync: true });
  let broken = false;
  const fail = (error: unknown): void => {
    if (broken) return;
    broken = true;
    if (onError) onError(error);
    else process.stderr.write(`coord: cannot write the log file ${file}: ${error instanceof Error ? error.message : String(error)}; further log lines to it are dropped\n`);
  };
  destination.on('error', fail);
  return {
    write(line: string): void {
      if (broken) return;
      try {
        destination.write(line);
      } catch (error) {
        fail(error);
      }
    },
  };
}

/** A logger that discards everything (for embedding without a log file). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
