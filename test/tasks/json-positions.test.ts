import { describe, expect, it } from 'vitest';
import { findJsonSyntaxProblem, jsonOffsets } from '../../src/tasks/json-positions.js';

const parses = (text: string): boolean => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

describe('findJsonSyntaxProblem', () => {
  it.each([
    '{}', '[]', ' [1, -2.5e+3, 0, "a\\"b\\u00e9", true, false, null, {"k": [[]]}] ', '"x"', '0',
    '', '[1,]', '{"a":1,}', '[1 2]', '{"a" 1}', '{a: 1}', "['x']", '[01]', '[.5]', '[1.]', '[-]', '[tru]',
    '{"a": 1}}', '[1] x', '"\\x"', '"\\u12G4"', '"tab\there"', '"open', '[', '{"a":', '// c\n{}', '/* c */ {}',
    '[NaN]', '{"a":1,"b"}', '[1,\u00a02]', '[1,\u000b2]', '[1,\uFEFF2]',
  ])('agrees with JSON.parse on %j', (text) => {
    expect(findJsonSyntaxProblem(text) === null).toBe(parses(text));
  });

  it('points at the problem', () => {
    expect(findJsonSyntaxProblem('[1, 2,]')).toEqual({ offset: 6, message: 'trailing comma' });
    expect(findJsonSyntaxProblem('{"a": 1,\n}')).toEqual({ offset: 9, message: 'trailing comma' });
    expect(findJsonSyntaxProblem('{"a": x}')).toEqual({ offset: 6, message: 'unexpected "x"' });
    expect(findJsonSyntaxProblem('[1')).toEqual({ offset: 2, message: 'unexpected end of input' });
    expect(findJsonSyntaxProblem('{"a": }')).toEqual({ offset: 6, message: 'unexpected "}"' });
    expect(findJsonSyntaxProblem('[1 x')).toEqual({ offset: 3, message: 'unexpected "x"' });
    expect(findJsonSyntaxProblem('[01]')).toEqual({ offset: 2, message: 'unexpected "1"' });
    expect(findJsonSyntaxProblem('[1.]')).toEqual({ offset: 3, message: 'unexpected "]"' });
    expect(findJsonSyntaxProblem('// c\n{}')).toEqual({ offset: 0, message: 'unexpected "/"' });
  });

  it('says when text follows the value', () => {
    expect(findJsonSyntaxProblem('{"a": 1}}')).toEqual({ offset: 8, message: 'unexpected text after the JSON value' });
    expect(findJsonSyntaxProblem('[1] x')).toEqual({ offset: 4, message: 'unexpected text after the JSON value' });
  });

  it('points into a bad string at the offending character', () => {
    expect(findJsonSyntaxProblem('"ab\ncd"')).toEqual({ offset: 3, message: 'bad string' });
    expect(findJsonSyntaxProblem('["tab\there"]')).toEqual({ offset: 5, message: 'bad string' });
    expect(findJsonSyntaxProblem('["\\\\ok\\x"]')).toEqual({ offset: 6, message: 'bad string' });
    expect(findJsonSyntaxProblem('"\\u12G4"')).toEqual({ offset: 1, message: 'bad string' });
    expect(findJsonSyntaxProblem('"open')).toEqual({ offset: 5, message: 'bad string' });
  });

  it('gives up without throwing on nesting too deep for the parser', () => {
    const deep = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
    expect(findJsonSyntaxProblem(deep)).toBeNull();
    expect(findJsonSyntaxProblem(`${'['.repeat(200_000)}x`)).toBeNull();
  });
});

describe('jsonOffsets', () => {
  const text = '{"tasks": [\n  {"id": "a", "run": ["x"]},\n  {"id": "b", "r\\u0075n": ["y", "z"], "env": {"A": "1"}}\n]}';
  const offsetOf = jsonOffsets(text);

  it('finds an object member at its key and an array item at its value', () => {
    expect(text.slice(offsetOf(['tasks', 1, 'id']))).toMatch(/^"id": "b"/);
    expect(text.slice(offsetOf(['tasks', 1, 'run', 1]))).toMatch(/^"z"/);
    expect(text.slice(offsetOf(['tasks', 1, 'env', 'A']))).toMatch(/^"A"/);
    expect(text.slice(offsetOf(['tasks', 1]))).toMatch(/^\{"id": "b"/);
    expect(text.slice(offsetOf(['tasks', '1', 'id']))).toMatch(/^"id": "b"/);
  });

  it('falls back to the deepest ancestor present', () => {
    expect(text.slice(offsetOf(['tasks', 0, 'deps', 0]))).toMatch(/^\{"id": "a"/);
    expect(text.slice(offsetOf(['tasks', 5]))).toMatch(/^"tasks"/);
    expect(offsetOf(['nope'])).toBe(0);
  });

  it('finds the first of duplicate keys', () => {
    expect(jsonOffsets('{"a": 1, "a": 2}')(['a'])).toBe(1);
  });

  it('answers 0 for nesting too deep for the parser', () => {
    expect(jsonOffsets(`${'['.repeat(200_000)}${']'.repeat(200_000)}`)([0, 0])).toBe(0);
  });
});
