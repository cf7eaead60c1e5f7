/**
 * Structured logging for the worker process: one JSON object per line on stderr. stdout is
 * left alone (the supervisor may pipe it), and stderr lines are easy for the supervisor to
 * forward into its own log with the worker's id attached.
 */

/** Severity of one log line. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** A logger that stamps every line with a fixed set of fields. */
export interface Logger {
  log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void;
  /** A logger whose lines also carry `fields`. */
  with(fields: Record<string, unknown>): Logger;
}

/** Where a logger writes; the default is stderr, tests may capture lines instead. */
export type LineSink = (line: string) => void;

const stderrSink: LineSink = (line) => {
  process.stderr.write(line);
};

/**
 * Creates a logger writing JSON lines to `sink`.
 *
 * @example
 * const logger = createLogger({ workerId: 'w1' });
 * logger.log('warn', 'refused message', { reason: 'type: invalid input' });
 */
export function createLogger(base: Record<string, unknown> = {}, sink: LineSink = stderrSink): Logger {
  return {
    log(level, msg, fields = {}) {
      const record = { time: new Date().toISOString(), level, msg, pid: process.pid, ...base, ...fields };
      sink(`${safeStringify(record)}\n`);
    },
    with(fields) {
      return createLogger({ ...base, ...fields }, sink);
    },
  };
}

/** The loggable facts of anything thrown: message, code and name, never the whole object. */
export function errorFields(error: unknown): Record<string, unknown> {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { error: error.message, errorName: error.name, ...(code === undefined ? {} : { errorCode: code }) };
  }
  return { error: String(error) };
}

// A log call must never throw: a field holding a cycle or a BigInt degrades to a note.
function safeStringify(record: Record<string, unknown>): string {
  try {
    return JSON.stringify(record);
  } catch (error) {
    return JSON.stringify({
      time: record.time,
      level: record.level,
      msg: record.msg,
      pid: record.pid,
      logError: `unserialisable log fields: ${error instanceof Error ? error.message : String(error)}`,
    });
  }
}
