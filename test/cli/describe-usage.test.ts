import { describe, expect, it } from 'vitest';
import { describeUsage } from '../../src/cli/store-commands.js';

describe('describeUsage', () => {
  it('reads tokens and cost at a glance, cache only when there is some', () => {
    expect(describeUsage({ inputTokens: 1200, outputTokens: 80, cacheReadTokens: 300, cacheWriteTokens: 50, costUsd: 0.00671 })).toBe('1,200 in · 80 out · 350 cached · $0.0067');
    expect(describeUsage({ inputTokens: 5, outputTokens: 1, cacheReadTokens: 0, cacheWriteTokens: 0, costUsd: 0 })).toBe('5 in · 1 out · $0.0000');
  });
});
