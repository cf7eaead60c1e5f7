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
}

/** A logger writing JSON to `file` and a one-line human view to stderr. */
export function createLogger(options: LoggerOptions): Logger {
  mkdirSync(path.dirname(options.file), { recursive: true });
  const level = options.level ?? 'info';
  const streams: pino.StreamEntry[] = [{ level: level as Level, stream: pino.destination({ dest: options.file, sync: true }) }];
  const stderrLevel = options.stderrLevel ?? 'warn';
  if (stderrLevel !== 'silent') {
    streams.push({
      level: stderrLevel as Level,
      stream: pretty({ destination: 2, sync: true, colorize: process.stderr.isTTY, translateTime: 'HH:MM:ss', ignore: 'pid,hostname', singleLine: true }),
    });
  }
  // The multistream's own level must be the lowest of its streams, or it drops lines early.
  const order = LOG_LEVELS.indexOf(level) < LOG_LEVELS.indexOf(stderrLevel) ? level : stderrLevel;
  return pino({ level: order, base: { pid: process.pid } }, pino.multistream(streams));
}

/** A logger that discards everything (for embedding without a log file). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
