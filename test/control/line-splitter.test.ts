/**
 * The socket's line splitter: lines across chunk boundaries, several in one chunk, a line over
 * the limit refused once without being held, and the next line after it intact.
 */
import { describe, expect, it } from 'vitest';
import { LineSplitter } from '../../src/control/line-splitter.js';

const b = (text: string) => Buffer.from(text);

describe('LineSplitter', () => {
  it('joins a line split across chunks and splits several lines in one chunk', () => {
    const splitter = new LineSplitter(100);
    expect(splitter.push(b('{"a"'))).toEqual([]);
    expect(splitter.push(b(':1}\n{"b":2}\r\n{"c"'))).toEqual([
      { kind: 'line', line: '{"a":1}' },
      { kind: 'line', line: '{"b":2}' },
    ]);
    expect(splitter.push(b(':3}\n'))).toEqual([{ kind: 'line', line: '{"c":3}' }]);
  });

  it('refuses a line over the limit once, holding none of it, and reads the next line whole', () => {
    const splitter = new LineSplitter(10);
    expect(splitter.push(b('0123456789'))).toEqual([]);
    expect(splitter.push(b('abcdef'))).toEqual([]);
    expect(splitter.push(b('ghi\nok\n'))).toEqual([
      { kind: 'oversized', bytes: 19 },
      { kind: 'line', line: 'ok' },
    ]);
  });

  it('keeps multi-byte characters split across chunks', () => {
    const splitter = new LineSplitter(100);
    const bytes = b('"é"\n');
    expect(splitter.push(bytes.subarray(0, 2))).toEqual([]);
    expect(splitter.push(bytes.subarray(2))).toEqual([{ kind: 'line', line: '"é"' }]);
  });
});
