import { describe, expect, it } from 'vitest';
import { findJsonSyntaxProblem, jsonOffsetOf } from '../../src/tasks/json-scan.js';

const parses = (text: string): boolean => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

describe('scanJson: syntax', () => {
  it.each([
    '{}', '[]', ' [1, -2.5e+3, 0, "a\\"b\\u00e9", true, false, null, {"k": [[]]}] ', '"x"', '0',
    '', '[1,]', '{"a":1,}', '[1 2]', '{"a" 1}', '{a: 1}', "['x']", '[01]', '[.5]', '[1.]', '[-]', '[tru]',
    '{"a": 1}}', '[1] x', '"\\x"', '"\\u12G4"', '"tab\there"', '"open', '[', '{"a":', '// c\n{}', '[NaN]', '{"a":1,"b"}',
  ])('agrees with JSON.parse on %j', (text) => {
    expect(findJsonSyntaxProblem(text) === null).toBe(parses(text));
  });

  it('points at the problem', () => {
    expect(findJsonSyntaxProblem('[1, 2,]')).toEqual({ offset: 6, message: 'trailing comma' });
    expect(findJsonSyntaxProblem('{"a": 1,\n}')).toEqual({ offset: 9, message: 'trailing comma' });
    expect(findJsonSyntaxProblem('{"a": x}')).toEqual({ offset: 6, message: 'unexpected "x"' });
    expect(findJsonSyntaxProblem('[1')).toEqual({ offset: 2, message: 'unexpected end of input' });
    expect(findJsonSyntaxProblem('{"a": }')).toEqual({ offset: 6, message: 'unexpected "}"' });
    expect(findJsonSyntaxProblem('"ab\ncd"')?.offset).toBe(3);
  });

  it('handles deep nesting without recursion', () => {
    const deep = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
    expect(findJsonSyntaxProblem(deep)).toBeNull();
  });
});

describe('jsonOffsetOf', () => {
  const text = '{"tasks": [\n  {"id": "a", "run": ["x"]},\n  {"id": "b", "r\\u0075n": ["y", "z"], "env": {"A": "1"}}\n]}';

  it('finds an object member at its key and an array item at its value', () => {
    expect(text.slice(jsonOffsetOf(text, ['tasks', 1, 'id']))).toMatch(/^"id": "b"/);
    expect(text.slice(jsonOffsetOf(text, ['tasks', 1, 'run', 1]))).toMatch(/^"z"/);
    expect(text.slice(jsonOffsetOf(text, ['tasks', 1, 'env', 'A']))).toMatch(/^"A"/);
    expect(text.slice(jsonOffsetOf(text, ['tasks', 1]))).toMatch(/^\{"id": "b"/);
  });

  it('falls back to the deepest ancestor present', () => {
    expect(text.slice(jsonOffsetOf(text, ['tasks', 0, 'deps', 0]))).toMatch(/^\{"id": "a"/);
    expect(jsonOffsetOf(text, ['nope'])).toBe(0);
  });
});
