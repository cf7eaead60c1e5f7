/**
 * A worker's stderr lines in the supervisor's log: its JSON lines keep their level (a worker's
 * debug line never becomes a warning on the user's terminal); other lines are warnings.
 */
import { describe, expect, it } from 'vitest';
import type { Logger } from '../../src/log/logger.js';
import { forwardWorkerLine } from '../../src/pool/run-process.js';

function recordingLogger(): { logger: Logger; lines: Array<[string, Record<string, unknown>, string]> } {
  const lines: Array<[string, Record<string, unknown>, string]> = [];
  const at = (level: string) => (fields: Record<string, unknown>, msg: string) => void lines.push([level, fields, msg]);
  const logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } as unknown as Logger;
  return { logger, lines };
}

describe('forwardWorkerLine', () => {
  it('keeps the level, message and fields of a worker JSON line', () => {
    const { logger, lines } = recordingLogger();
    forwardWorkerLine(logger, JSON.stringify({ time: 't', level: 'debug', msg: 'tasks run in their own cgroups', pid: 7, workerId: 'w1' }));
    forwardWorkerLine(logger, JSON.stringify({ time: 't', level: 'error', msg: 'boom', pid: 7 }));
    expect(lines).toEqual([
      ['debug', { workerId: 'w1', workerPid: 7 }, 'tasks run in their own cgroups'],
      ['error', { workerPid: 7 }, 'boom'],
    ]);
  });

  it('logs anything else (a stack trace, a JSON line of another shape) as a warning, verbatim', () => {
    const { logger, lines } = recordingLogger();
    forwardWorkerLine(logger, 'TypeError: x is not a function');
    forwardWorkerLine(logger, '{"level":"loud","msg":"?"}');
    expect(lines.map(([level, , msg]) => `${level}:${msg}`)).toEqual(['warn:TypeError: x is not a function', 'warn:{"level":"loud","msg":"?"}']);
  });
});
