/**
 * Structured logging for the worker process: pino, one JSON object per line on stderr.
 * stdout is left alone (the supervisor may pipe it), and the supervisor forwards each
 * stderr line into its own log at the line's level, with the worker's fields attached
 * (`forwardWorkerLine` in src/pool/run-process.ts reads `level`, `msg`, `time`, `pid`).
 *
 * The call sites see a two-method {@link Logger} rather than pino itself: worker code names
 * a level as data (`log(cancelled ? 'info' : 'warn', …)`) and tests capture lines with a
 * plain function.
 */
import pino, { type DestinationStream } from 'pino';

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

/**
 * Creates a logger writing JSON lines to `sink`, by default fd 2. The stderr destination is
 * synchronous: each line is on the pipe when `log` returns, so the line a worker logs just
 * before `process.exit` (an uncaught exception, an abandon) or before it is killed arrives.
 * pino's asynchronous destination flushes on the 'exit' event only, not on a kill.
 *
 * @example
 * const logger = createLogger({ workerId: 'w1' });
 * logger.log('warn', 'refused message', { reason: 'type: invalid input' });
 * // {"level":"warn","time":"…","pid":4242,"workerId":"w1","reason":"type: invalid input","msg":"refused message"}
 */
export function createLogger(base: Record<string, unknown> = {}, sink?: LineSink): Logger {
  const destination: DestinationStream = sink === undefined ? stderr() : { write: sink };
  return wrap(
    pino(
      {
        level: 'debug',
        base: { pid: process.pid, ...base },
        timestamp: pino.stdTimeFunctions.isoTime,
        // The supervisor forwards by level name; pino's default is a number.
        formatters: { level: (label) => ({ level: label }) },
      },
      destination,
    ),
  );
}

/** The loggable facts of anything thrown: message, code and name, never the whole object. */
export function errorFields(error: unknown): Record<string, unknown> {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { error: error.message, errorName: error.name, ...(code === undefined ? {} : { errorCode: code }) };
  }
  return { error: String(error) };
}

function wrap(logger: pino.Logger): Logger {
  return {
    log(level, msg, fields) {
      // pino serialises with safe-stable-stringify: a cycle or a BigInt in `fields` never throws.
      if (fields === undefined) logger[level](msg);
      else logger[level](fields, msg);
    },
    with(fields) {
      return wrap(logger.child(fields));
    },
  };
}

/**
 * fd 2, written synchronously. A failed write (EPIPE once the supervisor is gone) is
 * dropped: there is nowhere left to report it, and an unheard 'error' event would kill the
 * worker before it has killed its tasks.
 */
function stderr(): DestinationStream {
  const destination = pino.destination({ fd: 2, sync: true });
  destination.on('error', () => {});
  return destination;
}
