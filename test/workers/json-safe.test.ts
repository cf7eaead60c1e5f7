import { describe, expect, it } from 'vitest';
import { toJsonValue } from '../../workers/json-safe.js';

describe('toJsonValue', () => {
  it('passes plain JSON through and turns a missing result into null', () => {
    expect(toJsonValue({ a: [1, 'x', null, true], b: { c: 2 } })).toEqual({ ok: true, value: { a: [1, 'x', null, true], b: { c: 2 } } });
    expect(toJsonValue(undefined)).toEqual({ ok: true, value: null });
    expect(toJsonValue('text')).toEqual({ ok: true, value: 'text' });
  });

  it('takes toJSON at its word and drops undefined properties', () => {
    const when = new Date('2024-01-02T03:04:05.000Z');
    expect(toJsonValue({ when, gone: undefined })).toEqual({ ok: true, value: { when: '2024-01-02T03:04:05.000Z' } });
  });

  it.each([
    ['a BigInt', { n: 1n }, '(result).n: a bigint'],
    ['a function', [1, () => 2], '(result)[1]: a function'],
    ['a Map', { m: new Map() }, '(result).m: a Map'],
    ['a Set', new Set([1]), '(result): a Set'],
    ['NaN', { x: Number.NaN }, '(result).x: NaN'],
    ['Infinity', [Infinity], '(result)[0]: Infinity'],
    ['a symbol', Symbol('s'), '(result): a symbol'],
  ])('refuses %s with the path of the offending value', (_name, value, reason) => {
    const check = toJsonValue(value);
    expect(check.ok).toBe(false);
    if (!check.ok) expect(check.reason).toContain(reason);
  });

  it('refuses a cycle but accepts the same object twice', () => {
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    const check = toJsonValue({ loop });
    expect(check).toEqual({ ok: false, reason: '(result).loop.self: circular reference' });
    const shared = { v: 1 };
    expect(toJsonValue([shared, shared])).toEqual({ ok: true, value: [{ v: 1 }, { v: 1 }] });
  });
});
