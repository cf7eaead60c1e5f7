import { describe, expect, it } from 'vitest';
import { lastLines, OutputTail } from '../../workers/output-tail.js';

describe('the last lines of a task', () => {
  it('keeps the last non-blank lines, oldest first', () => {
    expect(lastLines('one\r\ntwo\r\n\r\nthree\r\nfour\r\nfive\r\nsix\r\n', 5)).toEqual(['two', 'three', 'four', 'five', 'six']);
  });

  it('drops colours and escapes, and keeps the last drawing of a redrawn line', () => {
    expect(lastLines('\x1b[31mError:\x1b[0m eslint: not found\r\n\x1b]0;title\x07progress 10%\rprogress 100%\r\n', 5))
      .toEqual(['Error: eslint: not found', 'progress 100%']);
  });

  it('cuts a very long line, and finds lines across chunks', () => {
    const tail = new OutputTail();
    tail.push('sh: 1: esl');
    tail.push('int: not found\n');
    tail.push(`${'x'.repeat(1_000)}\n`);
    const [first, second] = tail.lines(2);
    expect(first).toBe('sh: 1: eslint: not found');
    expect(second).toHaveLength(240);
    expect(second?.endsWith('…')).toBe(true);
  });

  it('is empty for a task that printed nothing', () => {
    expect(new OutputTail().lines()).toEqual([]);
  });
});
