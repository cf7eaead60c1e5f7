import { describe, expect, it } from 'vitest';
import {
  ParentMessageSchema,
  WorkerMessageSchema,
  type ParentMessage,
  type WorkerMessageInput,
} from '../../src/protocol/messages.js';
import { parseMessage } from '../../src/protocol/parse.js';

const SHA = 'a'.repeat(40);
const ref = { taskId: 'fix-login', attempt: 2, lease: 'lease-1' };

/** One valid example of every parent → worker message. */
const parentMessages: ParentMessage[] = [
  { type: 'coord:hello', protocolVersion: 3, workerId: 'w1', worktree: '/wt/w1', repoRoot: '/src/app', heartbeatMs: 2000, moduleThreads: 2, killGraceMs: 2000, runId: '0123456789abcdef' },
  { type: 'coord:assign', ...ref, exec: { kind: 'run', argv: ['claude', '-p', 'fix it'], env: { A: '1' } }, branch: 'coord/fix-login', startCommit: SHA, timeoutMs: null, logFile: '/s/a.log', maxLogBytes: 52_428_800, quietAfterMs: 30_000, rateKey: null, workspace: 'worktree' },
  { type: 'coord:assign', ...ref, exec: { kind: 'module', module: 'h.mjs', export: 'default', input: { n: 1 } }, branch: 'coord/fix-login', startCommit: SHA, timeoutMs: 5000, logFile: '/s/a.log', maxLogBytes: 4096, quietAfterMs: null, rateKey: 'anthropic', workspace: 'none' },
  {
    type: 'coord:assign', ...ref, branch: 'coord/fix-login', startCommit: SHA, timeoutMs: null, logFile: '/s/a.log', maxLogBytes: 4096, quietAfterMs: 30_000, rateKey: 'anthropic', workspace: 'worktree',
    exec: { kind: 'agent', agent: 'claude', argv: ['claude', '-p', '--', 'fix it'], env: {}, parser: 'claude-stream-json', resultGraceMs: 30_000, stallAfterMs: null, interactive: false },
  },
  { type: 'coord:cancel', ...ref, reason: 'drain', graceful: 'SIGTERM' },
  { type: 'coord:cancel', ...ref, reason: 'budget', graceful: 'SIGINT' },
  { type: 'coord:input', ...ref, inputId: 'i-1', text: 'please also add a test', quietWindowMs: 20_000 },
  { type: 'coord:proceed', requestId: 'r1' },
  { type: 'coord:wait', requestId: 'r1', retryAfterMs: 100 },
  { type: 'coord:rate-grant', requestId: 'r2', key: 'claude' },
  { type: 'coord:rate-wait', requestId: 'r2', key: 'claude', retryAfterMs: 1000 },
  { type: 'coord:conflict', requestId: 'r3', taskId: 'a', conflicts: [{ taskId: 'b', files: ['x.ts'] }] },
  { type: 'coord:conflict', requestId: null, taskId: 'a', conflicts: [{ taskId: 'b', files: ['x.ts'] }] },
  { type: 'coord:drain', deadlineMs: 30000 },
  { type: 'coord:shutdown', graceMs: 5000 },
  { type: 'coord:protocol-error', code: 'PROTOCOL_INVALID', message: 'bad', refusedType: 'coord:ready' },
];

/** One valid example of every worker → parent message. */
const workerMessages: WorkerMessageInput[] = [
  { type: 'coord:ready', workerId: 'w1', pid: 1234, protocolVersion: 3 },
  { type: 'coord:heartbeat', workerId: 'w1', sentAt: 1, running: ['fix-login'], rssBytes: 1 },
  { type: 'coord:started', ...ref, pid: 99 },
  { type: 'coord:progress', ...ref, outputBytes: 10 },
  { type: 'coord:quiet', ...ref, quietMs: 30_000, lastLine: 'Overwrite config? [y/N]' },
  { type: 'coord:liveness', ...ref, state: 'quiet' },
  { type: 'coord:complete', ...ref, exitCode: 0, result: { ok: true }, commit: SHA, durationMs: 5 },
  {
    type: 'coord:complete', ...ref, exitCode: 0, result: 'Done.', commit: SHA, durationMs: 5,
    agent: { sessionId: 'd6c2e1e0-5b7a-4a57-9d0f-6b8a2c1e9f00', model: 'claude-sonnet', usage: { inputTokens: 1, outputTokens: 2, cacheReadTokens: 0, cacheWriteTokens: 0, costUsd: null } },
  },
  { type: 'coord:failed', ...ref, code: 'TASK_EXIT_NONZERO', message: 'exit 1', exitCode: 1, signal: null, retryable: true, retryAfterMs: null, commit: null, durationMs: 5 },
  { type: 'coord:workspace-repaired', workerId: 'w1', worktree: '/wt/w1', found: 'no-git-file' },
  { type: 'coord:request', requestId: 'r', taskId: 'fix-login', action: 'push' },
  { type: 'coord:rate-request', requestId: 'r', ...ref, key: 'claude', tokens: 0 },
  { type: 'coord:usage', ...ref, inputTokens: 10, outputTokens: 20, costUsd: 0.01 },
  { type: 'coord:usage', ...ref, inputTokens: 10, outputTokens: 20, cacheReadTokens: 5, cacheWriteTokens: 1, costUsd: 0.01, sessionId: 's-1', model: 'sonnet' },
  { type: 'coord:conflict-check', requestId: 'r', ...ref },
  { type: 'coord:input-result', ...ref, inputId: 'i-1', status: 'busy', quietForMs: 1_200 },
  { type: 'coord:protocol-error', code: 'PROTOCOL_INVALID', message: 'bad', refusedType: null },
];

describe('coord:* protocol', () => {
  it('has an example for every message type of both unions', () => {
    const parentTypes = new Set(ParentMessageSchema.options.map((o) => o.shape.type.value));
    const workerTypes = new Set(WorkerMessageSchema.options.map((o) => o.shape.type.value));
    expect(new Set(parentMessages.map((m) => m.type))).toEqual(parentTypes);
    expect(new Set(workerMessages.map((m) => m.type))).toEqual(workerTypes);
  });

  it.each(parentMessages.map((m) => [m.type, m] as const))('%s round-trips through JSON IPC', (_type, message) => {
    const parsed = parseMessage(ParentMessageSchema, JSON.parse(JSON.stringify(message)));
    expect(parsed).toEqual({ ok: true, message });
  });

  it.each(workerMessages.map((m) => [m.type, m] as const))('%s round-trips through JSON IPC', (_type, message) => {
    const parsed = parseMessage(WorkerMessageSchema, JSON.parse(JSON.stringify(message)));
    expect(parsed.ok).toBe(true);
    if (parsed.ok) expect(parsed.message).toMatchObject(message as Record<string, unknown>);
  });

  it.each([
    ['a number', 42, null],
    ['null', null, null],
    ['a string', 'coord:ready', null],
    ['no type', { workerId: 'w1' }, null],
    ['an unknown type', { type: 'coord:teleport' }, 'coord:teleport'],
    ['a missing field', { type: 'coord:ready', workerId: 'w1' }, 'coord:ready'],
    ['an extra field', { type: 'coord:drain', deadlineMs: 1, extra: true }, 'coord:drain'],
    ['an unsafe task id', { type: 'coord:started', taskId: '../x', attempt: 1, lease: 'l', pid: null }, 'coord:started'],
    ['a bad sha', { type: 'coord:complete', ...ref, exitCode: 0, result: null, commit: 'HEAD', durationMs: 1 }, 'coord:complete'],
    ['attempt zero', { type: 'coord:progress', ...ref, attempt: 0, outputBytes: 1 }, 'coord:progress'],
  ])('refuses %s without throwing', (_name, raw, refusedType) => {
    const parsed = parseMessage(WorkerMessageSchema, raw);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.refusedType).toBe(refusedType);
      expect(parsed.reason.length).toBeGreaterThan(0);
    }
  });

  it('answers a malformed message only when a reply is due, and never a protocol-error', () => {
    const request = parseMessage(WorkerMessageSchema, { type: 'coord:request' });
    expect(request.ok === false && request.reply).toMatchObject({ type: 'coord:protocol-error', code: 'PROTOCOL_INVALID', refusedType: 'coord:request' });
    const heartbeat = parseMessage(WorkerMessageSchema, { type: 'coord:heartbeat' });
    expect(heartbeat.ok === false && heartbeat.reply).toBeNull();
    const loop = parseMessage(WorkerMessageSchema, { type: 'coord:protocol-error' });
    expect(loop.ok === false && loop.reply).toBeNull();
    const assign = parseMessage(ParentMessageSchema, { type: 'coord:assign', taskId: 'x' });
    expect(assign.ok === false && assign.reply?.refusedType).toBe('coord:assign');
  });

  it('requires a run id in coord:hello, one that cannot contain the marker separator', () => {
    const hello = parentMessages[0] as Record<string, unknown>;
    const { runId: _dropped, ...withoutRunId } = hello;
    expect(parseMessage(ParentMessageSchema, withoutRunId).ok).toBe(false);
    // A dot would let one run's marker prefix match another scope's markers.
    expect(parseMessage(ParentMessageSchema, { ...hello, runId: 'run.1' }).ok).toBe(false);
    expect(parseMessage(ParentMessageSchema, { ...hello, runId: '' }).ok).toBe(false);
  });

  it('requires an assign to carry a log cap of at least 4 KiB', () => {
    const { maxLogBytes: _omitted, ...withoutCap } = parentMessages[1] as Extract<ParentMessage, { type: 'coord:assign' }>;
    expect(parseMessage(ParentMessageSchema, withoutCap).ok).toBe(false);
    expect(parseMessage(ParentMessageSchema, { ...withoutCap, maxLogBytes: 4095 }).ok).toBe(false);
    expect(parseMessage(ParentMessageSchema, { ...withoutCap, maxLogBytes: 4096.5 }).ok).toBe(false);
    expect(parseMessage(ParentMessageSchema, { ...withoutCap, maxLogBytes: 4096 }).ok).toBe(true);
  });

  it('keeps a worker message of the wrong direction out', () => {
    expect(parseMessage(ParentMessageSchema, workerMessages[0]).ok).toBe(false);
    expect(parseMessage(WorkerMessageSchema, parentMessages[0]).ok).toBe(false);
  });
});
