import { describe, expect, it } from 'vitest';
import { classifyDeath, DEFAULT_RESTART_POLICY, nextCoolDown, withinIntensity } from '../../machines/restart-policy.js';

const policy = { ...DEFAULT_RESTART_POLICY, minUptimeMs: 1_000, initialCoolDownMs: 10_000, maxCoolDownMs: 300_000 };

describe('classifyDeath', () => {
  it('charges a death while holding a task to the task, however young the process', () => {
    expect(classifyDeath({ holdingTask: true, readyAt: 0, at: 5 }, policy)).toBe('task');
    expect(classifyDeath({ holdingTask: true, readyAt: 0, at: 3_600_000 }, policy)).toBe('task');
  });

  it('a death before ready is unstable', () => {
    expect(classifyDeath({ holdingTask: false, readyAt: null, at: 5 }, policy)).toBe('unstable');
  });

  it('an idle death within minUptimeMs of ready is unstable; from minUptimeMs on it is stable', () => {
    expect(classifyDeath({ holdingTask: false, readyAt: 1_000, at: 1_999 }, policy)).toBe('unstable');
    expect(classifyDeath({ holdingTask: false, readyAt: 1_000, at: 2_000 }, policy)).toBe('stable');
  });
});

describe('nextCoolDown', () => {
  it('starts at initialCoolDownMs and doubles up to maxCoolDownMs', () => {
    const delays: number[] = [];
    let previous: number | null = null;
    for (let i = 0; i < 8; i += 1) delays.push((previous = nextCoolDown(previous, policy)));
    expect(delays).toEqual([10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000]);
  });

  it('never exceeds the cap, even when the initial value is above it', () => {
    expect(nextCoolDown(null, { ...policy, initialCoolDownMs: 500_000 })).toBe(300_000);
  });
});

describe('the defaults', () => {
  it('allow 5 unstable restarts a minute, the sixth runs out', () => {
    const times = [0, 1, 2, 3, 4];
    expect(withinIntensity(times.slice(0, 4), DEFAULT_RESTART_POLICY, 5)).toBe(true);
    expect(withinIntensity(times, DEFAULT_RESTART_POLICY, 5)).toBe(false);
    expect(DEFAULT_RESTART_POLICY).toMatchObject({ minUptimeMs: 1_000, initialCoolDownMs: 10_000, maxCoolDownMs: 300_000 });
  });
});
