import { describe, expect, it } from 'vitest';
import { WorkerMessageSchema, type WorkerMessageInput } from '../../src/protocol/messages.js';
import { RateGate } from '../../workers/rate-gate.js';

const ref = { taskId: 'fix', attempt: 2, lease: 'lease-1' };

describe('the worker side of the shared rate limiter', () => {
  it('asks with a protocol-valid coord:rate-request and resolves on the answer to it', async () => {
    const sent: WorkerMessageInput[] = [];
    const gate = new RateGate((message) => sent.push(message));
    const granted = gate.ask({ ...ref, type: 'coord:assign' } as typeof ref, 'anthropic', new AbortController().signal);
    expect(sent).toHaveLength(1);
    const request = WorkerMessageSchema.parse(sent[0]);
    expect(request).toEqual({ type: 'coord:rate-request', requestId: expect.any(String), ...ref, key: 'anthropic', tokens: 0 });
    const requestId = (request as { requestId: string }).requestId;
    expect(gate.answer({ type: 'coord:rate-grant', requestId: 'someone-else', key: 'anthropic' })).toBe(false);
    expect(gate.answer({ type: 'coord:rate-grant', requestId, key: 'anthropic' })).toBe(true);
    expect(await granted).toEqual({ granted: true });
  });

  it('resolves a wait with its delay, and a cancel while waiting as cancelled', async () => {
    const sent: Array<{ requestId?: string }> = [];
    const gate = new RateGate((message) => sent.push(message as { requestId?: string }));
    const waiting = gate.ask(ref, 'api', new AbortController().signal);
    gate.answer({ type: 'coord:rate-wait', requestId: sent[0]?.requestId ?? '', key: 'api', retryAfterMs: 1_200 });
    expect(await waiting).toEqual({ granted: false, retryAfterMs: 1_200 });
    const controller = new AbortController();
    const cancelled = gate.ask(ref, 'api', controller.signal);
    controller.abort();
    expect(await cancelled).toEqual({ cancelled: true });
    expect(gate.answer({ type: 'coord:rate-grant', requestId: sent[1]?.requestId ?? '', key: 'api' })).toBe(false);
  });
});
