/**
 * Declared files: when two tasks' globs could touch a common path, and which globs are refused.
 */
import picomatch from 'picomatch';
import { describe, expect, it } from 'vitest';
import { globsOverlap, validateGlob } from '../../src/coordination/file-globs.js';

/** [a, b, overlap]: each case is checked both ways round. */
const CASES: Array<[string, string, boolean]> = [
  // literal vs literal
  ['package.json', 'package.json', true],
  ['package.json', 'package-lock.json', false],
  ['src/a.ts', 'src/b.ts', false],
  ['src/api', 'src/api/x.ts', false],
  ['./src/a.ts', 'src/a.ts', true],
  ['src//a.ts', 'src/a.ts', true],
  // literal vs glob
  ['*.json', 'package.json', true],
  ['*.json', 'src/package.json', false],
  ['**/*.json', 'src/package.json', true],
  ['**/*.ts', 'docs/x.md', false],
  ['**/*.ts', 'docs/x.ts', true],
  ['src/api/**', 'src/api/users/get.ts', true],
  ['src/api/**', 'src/apiary/x.ts', false],
  ['src/api/**', 'src/api', true],
  ['src/api/', 'src/api/x.ts', true],
  ['src/{api,web}/**', 'src/web/x.ts', true],
  ['src/{api,web}/**', 'src/cli/x.ts', false],
  ['src/@(api|web)/*.ts', 'src/api/x.ts', true],
  ['src/!(api)/*.ts', 'src/api/x.ts', false],
  ['src/!(api)/*.ts', 'src/web/x.ts', true],
  ['src/[ab].ts', 'src/a.ts', true],
  ['src/[ab].ts', 'src/c.ts', false],
  ['*', '.env', true],
  ['**', '.github/workflows/ci.yml', true],
  ['src/file(1).txt', 'src/file(1).txt', true],
  ['@types/node/index.d.ts', '@types/node/index.d.ts', true],
  // directories
  ['src/a/**', 'src/b/**', false],
  ['src/a/**', 'src/a/b/**', true],
  ['src/**', 'src/a/**', true],
  ['src/**', 'lib/**', false],
  ['src/**', '**/*.md', true],
  ['src/**/test/*.ts', 'src/a/b/test/x.ts', true],
  ['src/**/test/*.ts', 'src/**/fixtures/*.ts', false], // the file's folder cannot be both
  ['docs/**', '**/*.ts', true],
  ['**/*.ts', '**/*.md', false],
  ['**', 'anything/at/all', true],
  // magic vs magic in one segment
  ['src/*.ts', 'src/*.md', false],
  ['src/a*', 'src/b*', false],
  ['src/a*', 'src/ab*', true],
  ['src/*.test.ts', 'src/*.ts', true],
  ['src/*.{ts,tsx}', 'src/*.tsx', true],
  ['src/*.{ts,js}', 'src/*.md', false],
  ['src/?', 'src/??', true], // ambiguous pair: counted as overlapping
  ['src/*/index.ts', 'src/*/main.ts', false],
  ['src/*/index.ts', 'src/**/index.ts', true],
  ['src/*', 'src/*/x.ts', false],
  ['a/*/c', '*/b/*', true],
  // widened to ** (conservative)
  ['!src/**', 'src/x.ts', false],
  ['!src/**', 'lib/x.ts', true],
  ['!src/**', 'src/**', true],
  ['@(src/a|lib)/x.ts', 'src/a/x.ts', true],
  ['@(src/a|lib)/x.ts', 'src/*/x.ts', true],
  // braces across segments
  ['{src/a,lib}/**', 'lib/**', true],
  ['{src/a,lib}/**', 'src/b/**', false],
  ['src/{a,{b,c}}/**', 'src/c/**', true],
  ['src/{1..3}.ts', 'src/2.ts', true],
  ['src/{1..3}.ts', 'src/*.md', false],
  // picomatch lets a segment that can match nothing vanish after **: a/**/!(x) matches a
  ['a/**/!(x)', 'a', true],
  ['a/**/!(x)', 'a/*', true],
  ['a/**/!(x)', '*', true],
  ['a/**/*.ts', 'a', false],
];

describe('globsOverlap', () => {
  it.each(CASES)('%s vs %s → %s (both ways round)', (a, b, expected) => {
    expect(globsOverlap([a], [b])).toBe(expected);
    expect(globsOverlap([b], [a])).toBe(expected);
  });

  it('looks at every pair of globs', () => {
    expect(globsOverlap(['src/api/**', 'package.json'], ['docs/**', '*.json'])).toBe(true);
    expect(globsOverlap(['src/api/**', 'package.json'], ['docs/**', 'src/web/**'])).toBe(false);
  });

  it('an empty list overlaps nothing', () => {
    expect(globsOverlap([], ['**'])).toBe(false);
    expect(globsOverlap(['**'], [])).toBe(false);
  });

  it('is never false when picomatch matches some path with both (random patterns against random paths)', () => {
    // A small deterministic generator: patterns and paths from the same few names, so that hits are common.
    let seed = 42;
    const random = (n: number): number => {
      // mulberry32
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return (((t ^ (t >>> 14)) >>> 0) / 4_294_967_296 * n) | 0;
    };
    const names = ['a', 'b', 'ab', 'a.ts', 'b.ts', 'a.md', '.env', 'x.test.ts'];
    const parts = ['a', 'b', '*', '**', '*.ts', 'a*', '*b', '?', '{a,b}', '*.{ts,md}', '@(a|b)', '!(a)', '[ab]', 'a?', '.*', 'x.*', '*(a)', '?(b)', '+(a)', '!(*.ts)', '{a,**}', '[!a]*', 'a/**'];
    const pick = <T,>(list: readonly T[]): T => list[random(list.length)] as T;
    const paths = Array.from({ length: 600 }, () => Array.from({ length: 1 + random(4) }, () => pick(names)).join('/'));
    const patterns = Array.from({ length: 150 }, () => Array.from({ length: 1 + random(4) }, () => pick(parts)).join('/'));
    const matchers = patterns.map((p) => picomatch(p, { dot: true }));
    const missed: string[] = [];
    for (let i = 0; i < patterns.length; i += 1) {
      for (let j = i + 1; j < patterns.length; j += 1) {
        const common = paths.find((p) => (matchers[i] as (s: string) => boolean)(p) && (matchers[j] as (s: string) => boolean)(p));
        if (common !== undefined && !globsOverlap([patterns[i] as string], [patterns[j] as string])) missed.push(`${patterns[i]} / ${patterns[j]} (both match ${common})`);
      }
    }
    expect(missed).toEqual([]);
  });

  it('agrees with picomatch when one side is a literal path', () => {
    const globs = ['src/**', '*.json', '**/*.ts', 'src/*/index.ts', 'src/{a,b}/**', 'src/!(a)/**', '.github/**', '**/.env*'];
    const literals = ['package.json', 'src/a/index.ts', 'src/c/index.ts', 'src/a/deep/x.ts', '.github/ci.yml', 'config/.env.local', 'README.md'];
    for (const glob of globs) {
      for (const literal of literals) {
        expect(globsOverlap([glob], [literal]), `${glob} vs ${literal}`).toBe(picomatch(glob, { dot: true })(literal));
      }
    }
  });
});

describe('validateGlob', () => {
  it('accepts relative globs and paths', () => {
    for (const glob of ['src/api/**', 'package.json', '*.json', './src/a.ts', '.github/**', 'a..b/c', '{a,b}/**']) expect(validateGlob(glob)).toBeNull();
  });

  it('refuses empty globs', () => {
    expect(validateGlob('')).toMatch(/empty/);
    expect(validateGlob('   ')).toMatch(/empty/);
  });

  it('refuses absolute paths', () => {
    for (const glob of ['/etc/passwd', '/src/**', 'C:/x', 'C:\\x', '\\\\server\\share']) expect(validateGlob(glob)).toMatch(/absolute/);
  });

  it("refuses '..' segments", () => {
    for (const glob of ['..', '../x', 'src/../../x', 'src/..', 'src\\..\\x']) expect(validateGlob(glob)).toMatch(/'\.\.'/);
  });
});
