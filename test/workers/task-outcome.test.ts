import { describe, expect, it } from 'vitest';
import { WorkerMessageSchema } from '../../src/protocol/messages.js';
import type { ModuleRunResult } from '../../workers/run-module.js';
import type { PtyRunResult } from '../../workers/run-pty.js';
import { failure, finalMessage, outcomeOfModule, outcomeOfPty } from '../../workers/task-outcome.js';

const ref = { taskId: 't1', attempt: 2, lease: 'L' };
const sha = 'a'.repeat(40);
const pty = (over: Partial<PtyRunResult>): PtyRunResult => ({ terminationReason: 'exit', exitCode: 0, signal: null,
  timedOut: false, cancelled: false, durationMs: 5, outputBytes: 0, pid: 10, spawnError: null, outputTail: [], ...over });
const mod = (over: Partial<ModuleRunResult>): ModuleRunResult => ({ terminationReason: 'returned', outcome: null,
  crashMessage: null, durationMs: 5, ...over });

describe('task outcomes', () => {
  it.each([
    [pty({}), { ok: true, exitCode: 0 }],
    [pty({ exitCode: 2 }), { ok: false, code: 'TASK_EXIT_NONZERO', retryable: true, exitCode: 2, message: 'exited with code 2' }],
    [pty({ exitCode: null, signal: 'SIGSEGV' }), { ok: false, code: 'TASK_EXIT_NONZERO', signal: 'SIGSEGV', message: 'killed by SIGSEGV' }],
    [pty({ terminationReason: 'timeout', exitCode: null, signal: 'SIGTERM' }), { ok: false, code: 'TASK_TIMEOUT', retryable: true, signal: 'SIGTERM' }],
    [pty({ terminationReason: 'cancel' }), { ok: false, code: 'TASK_CANCELLED', retryable: true }],
    [pty({ terminationReason: 'spawn-error', exitCode: null, pid: null, spawnError: { code: 'ENOENT', message: 'nope: not found' } }),
      { ok: false, code: 'TASK_SPAWN_FAILED', retryable: false }],
  ])('maps a PTY run %#', (run, expected) => {
    expect(outcomeOfPty(run, 1000)).toMatchObject(expected);
  });

  it.each([
    [mod({ outcome: { ok: true, value: { x: 1 } } }), { ok: true, exitCode: null, result: { x: 1 } }],
    [mod({ outcome: { ok: false, code: 'MODULE_FAILED', message: 'm', retryable: false } }), { ok: false, code: 'MODULE_FAILED', retryable: false }],
    // a handler may narrow retryability, never widen it: a missing module stays final
    [mod({ outcome: { ok: false, code: 'MODULE_NOT_FOUND', message: 'm', retryable: true } }), { ok: false, code: 'MODULE_NOT_FOUND', retryable: false }],
    [mod({ terminationReason: 'timeout' }), { ok: false, code: 'TASK_TIMEOUT', retryable: true }],
    [mod({ terminationReason: 'cancel' }), { ok: false, code: 'TASK_CANCELLED', retryable: true }],
    [mod({ terminationReason: 'crashed', crashMessage: 'worker exited with code: 3' }), { ok: false, code: 'MODULE_FAILED', retryable: true }],
  ])('maps a module run %#', (run, expected) => {
    expect(outcomeOfModule(run, 1000)).toMatchObject(expected);
  });

  it('builds protocol-valid complete and failed messages', () => {
    const complete = finalMessage(ref, { ok: true, exitCode: 0, result: null }, sha, null, 12);
    expect(complete).toEqual({ type: 'coord:complete', ...ref, exitCode: 0, result: null, commit: sha, durationMs: 12 });
    const failed = finalMessage(ref, failure('TASK_TIMEOUT', 'slow', null, 'SIGTERM'), sha, null, 12);
    expect(failed).toEqual({ type: 'coord:failed', ...ref, code: 'TASK_TIMEOUT', message: 'slow', exitCode: null,
      signal: 'SIGTERM', retryable: true, retryAfterMs: null, commit: sha, durationMs: 12, outputTail: [] });
    for (const message of [complete, failed]) expect(WorkerMessageSchema.safeParse(message).success).toBe(true);
  });

  it('carries the last lines a failed run printed', () => {
    const outcome = outcomeOfPty(pty({ exitCode: 127, outputTail: ['sh: 1: eslint: not found'] }), null);
    expect(finalMessage(ref, outcome, null, null, 1)).toMatchObject({ code: 'TASK_EXIT_NONZERO', outputTail: ['sh: 1: eslint: not found'] });
  });

  it('turns a success whose work could not be committed into GIT_FAILED, and keeps an earlier failure', () => {
    expect(finalMessage(ref, { ok: true, exitCode: 0, result: null }, null, 'index.lock exists', 1))
      .toMatchObject({ type: 'coord:failed', code: 'GIT_FAILED', retryable: false, commit: null });
    expect(finalMessage(ref, failure('TASK_EXIT_NONZERO', 'exited with code 1', 1), null, 'boom', 1))
      .toMatchObject({ type: 'coord:failed', code: 'TASK_EXIT_NONZERO' });
  });
});
