import { describe, expect, it } from 'vitest';
import { attemptMarker, attemptSelector, markerMatches, newRunId, runSelector, workerSelector } from '../../src/procs/attempt-marker.js';

const parts = { runId: '0123456789abcdef', workerId: 'w1', taskId: 'fix.login', attempt: 2, lease: 'Ab-_9' };

describe('attempt markers', () => {
  it('orders the parts from the run to the attempt', () => {
    expect(attemptMarker(parts)).toBe('0123456789abcdef.w1.fix.login.2.Ab-_9');
  });

  it('makes a fresh 16-hex run id each time', () => {
    const a = newRunId();
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(newRunId()).not.toBe(a);
  });

  it('selects by run, by worker slot and by attempt', () => {
    const marker = attemptMarker(parts);
    expect(markerMatches(marker, runSelector(parts.runId))).toBe(true);
    expect(markerMatches(marker, workerSelector(parts.runId, 'w1'))).toBe(true);
    expect(markerMatches(marker, attemptSelector(parts))).toBe(true);
    expect(markerMatches(marker, attemptSelector({ ...parts, lease: 'other' }))).toBe(false);
    expect(markerMatches(marker, runSelector('fedcba9876543210'))).toBe(false);
  });

  it('never lets worker w1 select the attempts of w10, nor one run another whose id it begins', () => {
    const w10 = attemptMarker({ ...parts, workerId: 'w10' });
    expect(markerMatches(w10, workerSelector(parts.runId, 'w1'))).toBe(false);
    expect(markerMatches(attemptMarker({ ...parts, runId: 'abc123' }), runSelector('abc'))).toBe(false);
  });

  it('never selects an empty marker, and an empty prefix selects nothing', () => {
    expect(markerMatches('', { prefix: '' })).toBe(false);
    expect(markerMatches('x.y', { prefix: '' })).toBe(false);
    expect(markerMatches('', { exact: '' })).toBe(false);
  });
});
