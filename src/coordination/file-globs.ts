/**
 * Declared files: a task may name the paths it will touch as globs (`files: ["src/api/**",
 * "package.json"]`), and two tasks whose globs could match a common path should not run at
 * once. {@link globsOverlap} decides "could match a common path" without listing any file.
 *
 * It is conservative: it never says "no" when some path matches a glob of each side (the
 * semantics are picomatch's, with `dot: true`, so dotfiles count). It is exact for the
 * common cases: a literal path against anything (picomatch tests it), and patterns walked
 * segment by segment, where `**` absorbs any number of the other side's segments, two literal
 * segments must be equal, a literal segment meets a magic one through picomatch, and two magic
 * segments are told apart only by their literal prefixes and suffixes (`*.ts` vs `*.md`,
 * `a*` vs `b*`); other magic pairs (`?` vs `??`) count as overlapping. Braces are expanded
 * first; a segment holding a `/` inside an extglob or class, a negated pattern (`!x`) and a
 * pattern whose braces expand too far are widened to `**`, which overlaps everything.
 */
import picomatch from 'picomatch';

/** Brace alternatives one pattern may expand to before it is widened to `**`. */
const MAX_EXPANSIONS = 256;

/** Why `glob` cannot be a declared file pattern, or null when it can. */
export function validateGlob(glob: string): string | null {
  if (glob.trim() === '') return 'a file glob must not be empty';
  if (glob.startsWith('/') || glob.startsWith('\\') || /^[A-Za-z]:[\\/]/.test(glob)) {
    return `file glob ${JSON.stringify(glob)} is absolute: globs are relative to the repository root`;
  }
  if (glob.split(/[\\/]/).includes('..')) return `file glob ${JSON.stringify(glob)} has a '..' segment: globs stay inside the repository`;
  return null;
}

/** True when some path could match a glob of `a` and a glob of `b` (see the file's doc comment). */
export function globsOverlap(a: readonly string[], b: readonly string[]): boolean {
  const left = a.map(parse);
  const right = b.map(parse);
  return left.some((x) => right.some((y) => patternsOverlap(x, y)));
}

/** A segment of a path pattern. */
type Segment =
  | { kind: 'globstar' }
  | { kind: 'literal'; text: string }
  | {
      kind: 'magic';
      text: string;
      /** The literal text every match starts with, and ends with. */
      prefix: string;
      suffix: string;
      /**
       * Right after a `**` segment, picomatch lets a segment that can match the empty string
       * (`!(x)`, `*(x)`, `?(x)`) vanish with its slash (`a/**` then `/!(x)` matches `a`). The walk
       * lets such a segment match no segment there.
       */
      vanishesAfterGlobstar: boolean;
    };

interface Pattern {
  /** The normalised pattern as picomatch reads it. */
  source: string;
  /** The path itself when the pattern has no magic at all. */
  literal: string | null;
  /** Brace-free alternatives, each as segments (none for a literal, which is compared whole). */
  alternatives: Segment[][];
}

const GLOBSTAR: Segment = { kind: 'globstar' };

/** `./a//b/` → `a/b/**`: the forms of one pattern picomatch and the walk agree on. */
function normalise(glob: string): string {
  let text = glob.trim().replace(/\/{2,}/g, '/');
  while (text.startsWith('./')) text = text.slice(2);
  if (text === '' || text === '.') return '**';
  if (text.endsWith('/')) text = `${text}**`;
  return text;
}

function parse(glob: string): Pattern {
  const source = normalise(glob);
  const scan = picomatch.scan(source);
  if (scan.negated && !scan.negatedExtglob) return { source, literal: null, alternatives: [[GLOBSTAR]] };
  if (!scan.isGlob && !source.includes('\\')) return { source, literal: source, alternatives: [] };
  const expanded = expandBraces(source);
  const alternatives = expanded === null ? [[GLOBSTAR]] : expanded.map((alternative) => splitSegments(alternative).map(segment));
  return { source, literal: null, alternatives };
}

/** A pattern's segments, split at the `/`s outside classes and extglob parentheses; a segment with a `/` inside is widened to `**`. */
function splitSegments(pattern: string): string[] {
  const segments: string[] = [];
  let depth = 0;
  let bracket = false;
  let current = '';
  for (let i = 0; i < pattern.length; i += 1) {
    const char = pattern[i] as string;
    if (char === '\\' && i + 1 < pattern.length) {
      current += char + (pattern[i + 1] as string);
      i += 1;
      continue;
    }
    if (bracket) {
      if (char === ']') bracket = false;
    } else if (char === '[') bracket = true;
    else if (char === '(') depth += 1;
    else if (char === ')' && depth > 0) depth -= 1;
    else if (char === '/' && depth === 0) {
      segments.push(current);
      current = '';
      continue;
    }
    current += char;
  }
  segments.push(current);
  return segments.map((text) => (text.includes('/') ? '**' : text));
}

/** Characters that may make a segment match more than itself (a superset of picomatch's). */
const MAGIC = new Set(['*', '?', '[', ']', '{', '}', '(', ')', '!', '+', '@', '\\', '|']);

function segment(text: string): Segment {
  if (text === '**') return GLOBSTAR;
  const scan = picomatch.scan(text);
  if (!scan.isGlob && !scan.negated && !text.includes('\\')) return { kind: 'literal', text };
  let start = 0;
  while (start < text.length && !MAGIC.has(text[start] as string)) start += 1;
  let end = text.length;
  while (end > start && !MAGIC.has(text[end - 1] as string)) end -= 1;
  const vanishesAfterGlobstar = text.includes('(') && matcher(`q/**/${text}`)('q');
  return { kind: 'magic', text, prefix: text.slice(0, start), suffix: text.slice(end), vanishesAfterGlobstar };
}

/**
 * Every brace-free form of `pattern` (`{a,b}` alternatives, nested too), or null when there
 * would be more than {@link MAX_EXPANSIONS}. Braces without a top-level comma (`{1..3}`) stay
 * as they are, for picomatch and the prefix/suffix rule.
 */
function expandBraces(pattern: string): string[] | null {
  const done: string[] = [];
  const pending = [pattern];
  while (pending.length > 0) {
    const item = pending.pop() as string;
    const group = firstAlternation(item);
    if (group === null) {
      done.push(item);
    } else {
      for (const option of group.options) pending.push(item.slice(0, group.start) + option + item.slice(group.end + 1));
    }
    if (done.length + pending.length > MAX_EXPANSIONS) return null;
  }
  return done;
}

/** The first `{…}` of `text` with a comma at its own level, and its options. */
function firstAlternation(text: string): { start: number; end: number; options: string[] } | null {
  for (let open = 0; open < text.length; open += 1) {
    const char = text[open];
    if (char === '\\') {
      open += 1;
      continue;
    }
    if (char === '[') {
      const close = text.indexOf(']', open + 1);
      if (close !== -1) open = close;
      continue;
    }
    if (char !== '{') continue;
    let depth = 0;
    const commas: number[] = [];
    for (let i = open; i < text.length; i += 1) {
      const c = text[i];
      if (c === '\\') {
        i += 1;
        continue;
      }
      if (c === '{') depth += 1;
      else if (c === '}') {
        depth -= 1;
        if (depth === 0) {
          if (commas.length === 0) break;
          const bounds = [open, ...commas, i];
          const options = bounds.slice(0, -1).map((from, k) => text.slice(from + 1, bounds[k + 1]));
          return { start: open, end: i, options };
        }
      } else if (c === ',' && depth === 1) commas.push(i);
    }
  }
  return null;
}

const matchers = new Map<string, (path: string) => boolean>();
function matcher(glob: string): (path: string) => boolean {
  let test = matchers.get(glob);
  if (test === undefined) {
    test = picomatch(glob, { dot: true });
    if (matchers.size > 1_000) matchers.clear();
    matchers.set(glob, test);
  }
  return test;
}

function patternsOverlap(a: Pattern, b: Pattern): boolean {
  if (a.source === b.source) return true;
  if (a.literal !== null && b.literal !== null) return a.literal === b.literal;
  if (a.literal !== null) return matcher(b.source)(a.literal);
  if (b.literal !== null) return matcher(a.source)(b.literal);
  return a.alternatives.some((x) => b.alternatives.some((y) => segmentsOverlap(x, y)));
}

/** The segment walk: could one path match both segment lists? */
function segmentsOverlap(a: readonly Segment[], b: readonly Segment[]): boolean {
  const memo = new Map<number, boolean>();
  const walk = (i: number, j: number): boolean => {
    const key = i * (b.length + 1) + j;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let result: boolean;
    const x = a[i];
    const y = b[j];
    if (x === undefined && y === undefined) result = true;
    else if (x?.kind === 'globstar') result = walk(i + 1, j) || (y !== undefined && walk(i, j + 1));
    else if (y?.kind === 'globstar') result = walk(i, j + 1) || (x !== undefined && walk(i + 1, j));
    else if (x?.kind === 'magic' && x.vanishesAfterGlobstar && a[i - 1]?.kind === 'globstar' && walk(i + 1, j)) result = true;
    else if (y?.kind === 'magic' && y.vanishesAfterGlobstar && b[j - 1]?.kind === 'globstar' && walk(i, j + 1)) result = true;
    else if (x === undefined || y === undefined) result = false;
    else result = segmentOverlap(x, y) && walk(i + 1, j + 1);
    memo.set(key, result);
    return result;
  };
  return walk(0, 0);
}

function segmentOverlap(x: Exclude<Segment, { kind: 'globstar' }>, y: Exclude<Segment, { kind: 'globstar' }>): boolean {
  if (x.text === y.text) return true;
  if (x.kind === 'literal' && y.kind === 'literal') return false;
  if (x.kind === 'literal') return matcher(y.text)(x.text);
  if (y.kind === 'literal') return matcher(x.text)(y.text);
  const prefixes = x.prefix.startsWith(y.prefix) || y.prefix.startsWith(x.prefix);
  const suffixes = x.suffix.endsWith(y.suffix) || y.suffix.endsWith(x.suffix);
  return prefixes && suffixes;
}
