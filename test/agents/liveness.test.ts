import { describe, expect, it } from 'vitest';
import { judgeLiveness, type LivenessEvidence } from '../../src/agents/liveness.js';

const limits = { quietAfterMs: 30_000, stallAfterMs: 600_000 };
const at = (over: Partial<LivenessEvidence>): LivenessEvidence => ({ startedAt: 0, lastOutputAt: null, lastEventAt: null, lastCpuAt: null, lastFileChangeAt: null, ...over });

describe('liveness by evidence', () => {
  it('is progressing while the agent speaks (output or structured events)', () => {
    expect(judgeLiveness(at({}), limits, 10_000)).toBe('progressing');
    expect(judgeLiveness(at({ lastOutputAt: 100_000 }), limits, 120_000)).toBe('progressing');
    expect(judgeLiveness(at({ lastEventAt: 100_000 }), limits, 120_000)).toBe('progressing');
  });

  it('is quiet when silent, even for long, while it still works (CPU or files)', () => {
    expect(judgeLiveness(at({ lastOutputAt: 0 }), limits, 31_000)).toBe('quiet');
    expect(judgeLiveness(at({ lastOutputAt: 0, lastCpuAt: 900_000 }), limits, 1_000_000)).toBe('quiet');
    expect(judgeLiveness(at({ lastOutputAt: 0, lastFileChangeAt: 900_000 }), limits, 1_000_000)).toBe('quiet');
  });

  it('is stalled only when silence and idleness agree for the stall limit', () => {
    expect(judgeLiveness(at({ lastOutputAt: 0, lastCpuAt: 0 }), limits, 600_000)).toBe('stalled');
    // idle but spoke recently: not stalled
    expect(judgeLiveness(at({ lastOutputAt: 590_000, lastCpuAt: 0 }), limits, 600_000)).toBe('progressing');
    // silent for the limit but worked within it: quiet
    expect(judgeLiveness(at({ lastOutputAt: 0, lastCpuAt: 1 }), limits, 600_000)).toBe('quiet');
  });
});
