/**
 * A small iterative JSON recogniser for error reporting, with two uses:
 *
 * - where a text stops being JSON: `JSON.parse` says *that* a task file is invalid, but on
 *   Node 20 it gives no position for the commonest hand-editing slip (a trailing comma:
 *   "Unexpected token ']'"), and a user needs the line;
 * - where a value sits, by path (`tasks[3].run`), to place a schema error. Parsing a large
 *   JSON file with the YAML parser for positions takes seconds; this takes a linear scan.
 *
 * It builds no values and never recurses (deep nesting cannot overflow the stack).
 * `JSON.parse` stays the authority on validity and on values.
 */

/** The first offending position in a text and what is wrong there. */
export interface JsonSyntaxProblem {
  offset: number;
  message: string;
}

/**
 * Called at the start of every value with its path (object keys and array indices, a live
 * array: copy it to keep it) and an offset: the member's key for an object member, else the
 * value itself. Return true to stop the scan.
 */
export type JsonValueVisitor = (path: readonly (string | number)[], offset: number) => boolean;

type Expect = 'value' | 'valueOrClose' | 'key' | 'keyOrClose' | 'colon' | 'commaOrClose' | 'end';

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const LITERAL = /true|false|null/y;
const WHITESPACE = /[ \t\n\r]*/y;

/**
 * Scans `text` as strict JSON (RFC 8259), calling `visit` on each value; returns the first
 * syntax problem, or null when the text is valid (or `visit` stopped the scan first).
 *
 * @example
 * scanJson('[1, 2,]'); // { offset: 6, message: 'trailing comma' }
 */
export function scanJson(text: string, visit?: JsonValueVisitor): JsonSyntaxProblem | null {
  const open: string[] = [];
  const path: Array<string | number> = [];
  let keyOffset = 0;
  let afterComma = false;
  let expect: Expect = 'value';
  let i = 0;
  const fail = (message?: string): JsonSyntaxProblem => ({
    offset: i,
    message: message ?? (i >= text.length ? 'unexpected end of input' : `unexpected ${JSON.stringify(text[i])}`),
  });
  const afterValue = (): Expect => (open.length === 0 ? 'end' : 'commaOrClose');
  const close = (): void => {
    open.pop();
    path.pop();
    i++;
    expect = afterValue();
  };

  for (;;) {
    WHITESPACE.lastIndex = i;
    WHITESPACE.test(text);
    i = WHITESPACE.lastIndex;
    if (i >= text.length) return expect === 'end' ? null : fail();
    const c = text[i] as string;
    const closes = (c === '}' && open.at(-1) === '{') || (c === ']' && open.at(-1) === '[');
    const trailingComma = afterComma && closes;
    afterComma = false;

    if (expect === 'end') return fail('unexpected text after the JSON value');
    if (expect === 'colon') {
      if (c !== ':') return fail();
      i++;
      expect = 'value';
    } else if (expect === 'commaOrClose') {
      if (closes) close();
      else if (c !== ',') return fail();
      else {
        i++;
        afterComma = true;
        if (open.at(-1) === '{') expect = 'key';
        else {
          path[path.length - 1] = (path.at(-1) as number) + 1;
          expect = 'value';
        }
      }
    } else if (closes && (expect === 'keyOrClose' || expect === 'valueOrClose')) {
      close();
    } else if (expect === 'key' || expect === 'keyOrClose') {
      if (c !== '"') return fail(trailingComma ? 'trailing comma' : undefined);
      const end = scanString(text, i);
      if (end < 0) return { offset: -end - 1, message: 'bad string' };
      const raw = text.slice(i + 1, end - 1);
      path[path.length - 1] = raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw;
      keyOffset = i;
      i = end;
      expect = 'colon';
    } else {
      // A value starts here.
      if (closes) return fail(trailingComma ? 'trailing comma' : undefined);
      const inObject = open.at(-1) === '{';
      if (visit?.(path, inObject ? keyOffset : i) === true) return null;
      if (c === '{' || c === '[') {
        open.push(c);
        path.push(c === '[' ? 0 : '');
        i++;
        expect = c === '{' ? 'keyOrClose' : 'valueOrClose';
        continue;
      }
      const end = c === '"' ? scanString(text, i) : (matchAt(NUMBER, text, i) ?? matchAt(LITERAL, text, i) ?? i);
      if (end < 0) return { offset: -end - 1, message: 'bad string' };
      if (end === i) return fail();
      i = end;
      expect = afterValue();
    }
  }
}

/** The first syntax problem in `text` read as strict JSON, or null if there is none. */
export function findJsonSyntaxProblem(text: string): JsonSyntaxProblem | null {
  return scanJson(text);
}

/**
 * The offset of the value at `target` (of its key, for an object member), or of its deepest
 * ancestor present in the text; 0 when not even the root is there. With duplicate keys the
 * first occurrence wins (`JSON.parse` keeps the last; a task file with duplicates is wrong
 * either way).
 */
export function jsonOffsetOf(text: string, target: readonly PropertyKey[]): number {
  let best = 0;
  let bestDepth = -1;
  scanJson(text, (path, offset) => {
    if (path.length <= bestDepth || path.length > target.length) return false;
    for (let k = 0; k < path.length; k++) if (String(path[k]) !== String(target[k])) return false;
    best = offset;
    bestDepth = path.length;
    return bestDepth === target.length;
  });
  return best;
}

/** End offset (past the closing quote) of the string starting at `start`, or `-(offset + 1)` of the problem. */
function scanString(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x22) return i + 1;
    if (code < 0x20) return -(i + 1);
    if (code === 0x5c) {
      const escape = text[i + 1];
      if (escape === 'u') {
        if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) return -(i + 1);
        i += 5;
      } else if (escape !== undefined && '"\\/bfnrt'.includes(escape)) i += 1;
      else return -(i + 1);
    }
  }
  return -(text.length + 1);
}

function matchAt(pattern: RegExp, text: string, at: number): number | null {
  pattern.lastIndex = at;
  return pattern.test(text) ? pattern.lastIndex : null;
}
