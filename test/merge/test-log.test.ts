/**
 * Test log names and numbering, and the output tail a failed entry carries.
 */
import { describe, expect, it } from 'vitest';
import { lastLines, logFileName, nextLogNumber } from '../../src/merge/test-log.js';

describe('test logs', () => {
  it('numbers on from the logs already there', () => {
    expect(nextLogNumber([])).toBe(1);
    expect(nextLogNumber(['1-a.log', '12-b.log', '3-c.log', 'notes.txt', '99-x.txt'])).toBe(13);
  });

  it('names a log after its first task, safely', () => {
    expect(logFileName(4, 'build-api')).toBe('4-build-api.log');
    expect(logFileName(5, 'a/b c')).toBe('5-a_b_c.log');
  });

  it('keeps the last lines of the output', () => {
    const text = Array.from({ length: 50 }, (_, i) => `line ${i}`).join('\n') + '\n';
    expect(lastLines(text)).toHaveLength(40);
    expect(lastLines(text)[0]).toBe('line 10');
    expect(lastLines(text).at(-1)).toBe('line 49');
    expect(lastLines('one\r\ntwo', 5)).toEqual(['one', 'two']);
    expect(lastLines('', 5)).toEqual([]);
  });
});
