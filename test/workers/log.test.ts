/**
 * The worker's log: pino JSON lines on stderr that the supervisor forwards into its own log
 * at their level, with the worker's fields; lines written just before `process.exit` arrive.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Logger as SupervisorLogger } from '../../src/log/logger.js';
import { forwardWorkerLine } from '../../src/pool/run-process.js';
import { createLogger, errorFields } from '../../workers/log.js';
import { TSX_IMPORT } from './harness.js';

const FIXTURE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/worker-log-then-exit.ts');

type Forwarded = [level: string, fields: Record<string, unknown>, msg: string];

/** A supervisor-side logger that records what forwardWorkerLine calls it with. */
function recordingLogger(): { logger: SupervisorLogger; forwarded: Forwarded[] } {
  const forwarded: Forwarded[] = [];
  const at = (level: string) => (fields: Record<string, unknown>, msg: string) => void forwarded.push([level, fields, msg]);
  const logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } as unknown as SupervisorLogger;
  return { logger, forwarded };
}

describe('worker log lines', () => {
  it('are JSON with the level by name, an ISO time, the pid, the base and call fields', () => {
    const lines: string[] = [];
    const logger = createLogger({ component: 'worker' }, (line) => void lines.push(line)).with({ workerId: 'w1' });
    logger.log('warn', 'refused message', { reason: 'type: invalid input' });
    logger.log('debug', 'no fields');
    expect(lines).toHaveLength(2);
    expect(lines.every((line) => line.endsWith('\n') && !line.slice(0, -1).includes('\n'))).toBe(true);
    expect(JSON.parse(lines[0] as string)).toEqual({
      level: 'warn', time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/), pid: process.pid,
      component: 'worker', workerId: 'w1', reason: 'type: invalid input', msg: 'refused message',
    });
    expect(JSON.parse(lines[1] as string)).toMatchObject({ level: 'debug', msg: 'no fields' });
  });

  it('never throw on fields JSON cannot hold (a cycle, a BigInt)', () => {
    const lines: string[] = [];
    const cycle: Record<string, unknown> = {};
    cycle['self'] = cycle;
    createLogger({}, (line) => void lines.push(line)).log('info', 'odd fields', { cycle, big: 10n, ...errorFields(new RangeError('r')) });
    expect(JSON.parse(lines[0] as string)).toMatchObject({ msg: 'odd fields', cycle: { self: '[Circular]' }, error: 'r', errorName: 'RangeError' });
  });

  it('reach the supervisor log at their own level, with the worker fields', () => {
    const lines: string[] = [];
    const worker = createLogger({ component: 'worker' }, (line) => void lines.push(line)).with({ workerId: 'w1' });
    worker.log('info', 'draining: no new tasks accepted', { deadlineMs: 500 });
    worker.log('error', 'task execution failed unexpectedly', { taskId: 't1', error: 'boom' });
    const { logger, forwarded } = recordingLogger();
    for (const line of lines) forwardWorkerLine(logger, line.trimEnd());
    expect(forwarded).toEqual([
      ['info', { component: 'worker', workerId: 'w1', deadlineMs: 500, workerPid: process.pid }, 'draining: no new tasks accepted'],
      ['error', { component: 'worker', workerId: 'w1', taskId: 't1', error: 'boom', workerPid: process.pid }, 'task execution failed unexpectedly'],
    ]);
  });

  it('written on stderr just before process.exit all arrive, and forward at their level', async () => {
    const filler = 200; // ~200 KB: more than a pipe buffer holds
    const child = spawn(process.execPath, ['--import', TSX_IMPORT, FIXTURE], {
      env: { ...process.env, FILLER_LINES: String(filler) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const lines: string[] = [];
    createInterface({ input: child.stderr }).on('line', (line) => void lines.push(line));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(70);
    expect(lines).toHaveLength(filler + 2);
    const { logger, forwarded } = recordingLogger();
    for (const line of lines) forwardWorkerLine(logger, line);
    expect(forwarded[0]).toEqual(['info', { component: 'worker', workerId: 'w7', worktree: '/tmp/wt', workerPid: child.pid }, 'worker started']);
    expect(forwarded.at(-1)).toEqual([
      'error', { component: 'worker', workerId: 'w7', error: 'boom', errorName: 'TypeError', workerPid: child.pid }, 'uncaught exception',
    ]);
    expect(forwarded.slice(1, -1).every(([level]) => level === 'debug')).toBe(true);
  });
});
