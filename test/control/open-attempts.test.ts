/** Start times of attempts in flight: matched by attempt, forgotten on request, bounded. */
import { describe, expect, it } from 'vitest';
import { OpenAttempts } from '../../src/control/open-attempts.js';

describe('OpenAttempts', () => {
  it('gives the duration of the attempt in flight once, and null for any other', () => {
    const open = new OpenAttempts();
    open.start('a', 1, 100);
    expect(open.end('a', 2, 150)).toBeNull();
    expect(open.end('a', 1, 350)).toBe(250);
    expect(open.end('a', 1, 400)).toBeNull();
    expect(open.end('unknown', 1, 400)).toBeNull();
  });

  it('replaces an older attempt of the same task', () => {
    const open = new OpenAttempts();
    open.start('a', 1, 0);
    open.start('a', 2, 50);
    expect(open.size).toBe(1);
    expect(open.end('a', 1, 100)).toBeNull();
    expect(open.end('a', 2, 100)).toBe(50);
  });

  it('forgets a task, and drops the oldest start past its capacity', () => {
    const open = new OpenAttempts(2);
    open.start('a', 1, 0);
    open.start('b', 1, 0);
    open.start('a', 2, 10); // a moves to the newest end
    open.start('c', 1, 20); // drops b, the oldest
    expect(open.size).toBe(2);
    expect(open.end('b', 1, 30)).toBeNull();
    open.forget('c');
    expect(open.end('c', 1, 30)).toBeNull();
    expect(open.end('a', 2, 30)).toBe(20);
    expect(open.size).toBe(0);
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new OpenAttempts(0)).toThrow(RangeError);
  });
});
