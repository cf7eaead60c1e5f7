import { describe, expect, it } from 'vitest';
import { parseDuration, parseResetTime } from '../../src/agents/parsers/reset-time.js';

const NOW = Date.UTC(2026, 11, 3, 7, 0, 0);

describe('parseDuration', () => {
  it.each([
    ['1h49m8s', 6_548_000],
    ['12.5s', 12_500],
    ['250ms', 250],
    ['2 hours 30 minutes', 9_000_000],
    ['1 hour and 5 minutes', 3_900_000],
    ['3d', 259_200_000],
    ['45 min', 2_700_000],
  ])('%s → %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it('stops at the first run of parts', () => {
    expect(parseDuration('20s. Then 5 minutes later')).toBe(20_000);
  });

  it('is null without a unit', () => {
    expect(parseDuration('soon')).toBeNull();
    expect(parseDuration('42')).toBeNull();
  });
});

describe('parseResetTime', () => {
  it.each([
    ['Please try again in 20s.', 20_000],
    ['Your quota will reset after 1h49m8s.', 6_548_000],
    ['Please retry in 250ms', 250],
    ['usage limit reached; resets in 3 hours', 10_800_000],
    ['{"error":{"details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"34.074824224s"}]}}', 34_075],
  ])('reads a wait: %s', (text, ms) => {
    expect(parseResetTime(text, NOW)).toEqual({ retryAfterMs: ms, resetAt: null });
  });

  it('reads Claude Code\'s epoch form, in seconds or milliseconds', () => {
    expect(parseResetTime('Claude AI usage limit reached|1800000000', NOW)).toEqual({ retryAfterMs: null, resetAt: 1_800_000_000_000 });
    expect(parseResetTime('Claude AI usage limit reached|1800000000123', NOW)).toEqual({ retryAfterMs: null, resetAt: 1_800_000_000_123 });
  });

  it('reads an ISO moment', () => {
    expect(parseResetTime('rate limited; resets at 2026-12-03T09:30:00Z', NOW).resetAt).toBe(Date.UTC(2026, 11, 3, 9, 30));
    expect(parseResetTime('try again at 2026-12-03 09:30:00+02:00', NOW).resetAt).toBe(Date.UTC(2026, 11, 3, 7, 30));
  });

  it('reads a time of day in UTC or a named zone, tomorrow when already past today', () => {
    expect(parseResetTime('5-hour limit reached ∙ resets 3pm (UTC)', NOW).resetAt).toBe(Date.UTC(2026, 11, 3, 15, 0));
    expect(parseResetTime('resets at 6:15 UTC', NOW).resetAt).toBe(Date.UTC(2026, 11, 4, 6, 15));
    // Paris is UTC+1 in December.
    expect(parseResetTime("You've hit your limit · resets 3pm (Europe/Paris)", NOW).resetAt).toBe(Date.UTC(2026, 11, 3, 14, 0));
    // Tokyo is UTC+9: 8am there is 23:00 UTC the day before, already past at 07:00 UTC.
    expect(parseResetTime('resets 8am (Asia/Tokyo)', NOW).resetAt).toBe(Date.UTC(2026, 11, 3, 23, 0));
  });

  it('reads a time of day without a zone in this process\'s zone (Codex prints local time)', () => {
    const expected = new Date(NOW);
    expected.setHours(8, 50, 0, 0);
    if (expected.getTime() <= NOW) expected.setDate(expected.getDate() + 1);
    expect(parseResetTime('You’ve hit your usage limit. … or try again at 8:50 AM.', NOW).resetAt).toBe(expected.getTime());
  });

  it('reads the dated forms: a weekday, a day of a month, with or without its year', () => {
    // NOW is Thursday 3 December 2026, 07:00 UTC.
    expect(parseResetTime("You've hit your weekly limit · resets Mon 12:00am (UTC)", NOW).resetAt).toBe(Date.UTC(2026, 11, 7, 0, 0));
    expect(parseResetTime('resets Thu 6am (UTC)', NOW).resetAt).toBe(Date.UTC(2026, 11, 10, 6, 0));
    expect(parseResetTime('resets Thu 8am (UTC)', NOW).resetAt).toBe(Date.UTC(2026, 11, 3, 8, 0));
    expect(parseResetTime("You've hit your weekly limit · resets Sep 24 at 3pm (Australia/Brisbane)", NOW).resetAt).toBe(Date.UTC(2027, 8, 24, 5, 0));
    expect(parseResetTime('resets Dec 24 at 3pm (UTC)', NOW).resetAt).toBe(Date.UTC(2026, 11, 24, 15, 0));
    const local = (y: number, m: number, d: number, h: number, min: number) => new Date(y, m, d, h, min).getTime();
    expect(parseResetTime("You've hit your usage limit. Switch to another model now, or try again at Jul 9th, 2027 1:47 AM.", NOW).resetAt).toBe(local(2027, 6, 9, 1, 47));
    expect(parseResetTime('Upgrade your plan or add credits to continue, or try again at Aug 10, 2027, 11:12 AM.', NOW).resetAt).toBe(local(2027, 7, 10, 11, 12));
    expect(parseResetTime("You've hit your session limit · resets in 1d 5h", NOW)).toEqual({ retryAfterMs: 29 * 3_600_000, resetAt: null });
  });

  it('knows nothing from text without a time, or with one it cannot place', () => {
    expect(parseResetTime('429 Too Many Requests', NOW)).toEqual({ retryAfterMs: null, resetAt: null });
    expect(parseResetTime('spend limit reached · resets Aug 8', NOW)).toEqual({ retryAfterMs: null, resetAt: null });
    expect(parseResetTime('resets 3pm (Mars/Olympus)', NOW)).toEqual({ retryAfterMs: null, resetAt: null });
    expect(parseResetTime('resets at 25:00', NOW)).toEqual({ retryAfterMs: null, resetAt: null });
  });
});
