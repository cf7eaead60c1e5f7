import { describe, expect, it } from 'vitest';
import { environValue, pidEntries, statParentPid } from '../../src/procs/proc-parse.js';

const environ = (...entries: string[]): Buffer => Buffer.from(entries.map((entry) => `${entry}\0`).join(''));

describe('environValue', () => {
  it('finds a variable among NUL-separated entries', () => {
    expect(environValue(environ('PATH=/bin', 'COORD_ATTEMPT_MARKER=r.w1.a.1.l', 'HOME=/root'), 'COORD_ATTEMPT_MARKER')).toBe('r.w1.a.1.l');
  });

  it('matches whole names only, not a name that merely starts or ends the same', () => {
    const env = environ('XCOORD_ATTEMPT_MARKER=no', 'COORD_ATTEMPT_MARKER_OLD=no', 'A=COORD_ATTEMPT_MARKER=no');
    expect(environValue(env, 'COORD_ATTEMPT_MARKER')).toBeNull();
  });

  it('takes the first of duplicated entries, as getenv does', () => {
    expect(environValue(environ('M=first', 'M=second'), 'M')).toBe('first');
  });

  it('reads a last entry without its NUL, an empty value, and an empty environ', () => {
    expect(environValue(Buffer.from('A=1\0M=tail'), 'M')).toBe('tail');
    expect(environValue(environ('M='), 'M')).toBe('');
    expect(environValue(Buffer.alloc(0), 'M')).toBeNull();
  });

  it('is not confused by bytes that are not UTF-8 in other entries', () => {
    const env = Buffer.concat([Buffer.from('X='), Buffer.from([0xff, 0xfe]), Buffer.from('\0M=ok\0')]);
    expect(environValue(env, 'M')).toBe('ok');
  });
});

describe('statParentPid', () => {
  it('reads the fourth field', () => {
    expect(statParentPid('1234 (sleep) S 1200 1234 1234 0 -1 4194304')).toBe(1200);
  });

  it('copes with spaces and parentheses in the command name', () => {
    expect(statParentPid('77 (a) b (c) d) R 42 77 77 0')).toBe(42);
  });

  it('returns null for something that is not a stat line', () => {
    expect(statParentPid('')).toBeNull();
    expect(statParentPid('garbage')).toBeNull();
  });
});

describe('pidEntries', () => {
  it('keeps the numeric entries of /proc only', () => {
    expect(pidEntries(['1', 'self', '42', 'thread-self', 'sys', '007', '0', '123456'])).toEqual([1, 42, 123456]);
  });
});
