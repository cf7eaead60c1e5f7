/**
 * Positions in a JSON task file, from jsonc-parser's syntax tree, for two uses:
 *
 * - where a text stops being JSON: `JSON.parse` says *that* a task file is invalid, but on
 *   Node 20 it gives no position for the commonest hand-editing slip (a trailing comma:
 *   "Unexpected token ']'"), and a user needs the line;
 * - where a value sits, by path (`tasks[3].run`), to place a schema error. Parsing a large
 *   JSON file with the YAML parser for positions takes seconds; jsonc-parser takes one
 *   linear pass.
 *
 * `JSON.parse` stays the authority on validity and on values: jsonc-parser is only asked
 * where things are, and only once `JSON.parse` has said something is wrong. (Its
 * `getNodeValue` is not a substitute: it assigns keys with `obj[key] =`, so a `"__proto__"`
 * key would set the prototype instead of making a field.) It runs strict here: comments and
 * trailing commas are errors, as in JSON.
 *
 * jsonc-parser recurses once per nesting level, so a pathologically deep text (which
 * `JSON.parse` reads iteratively) overflows its stack; then these answers fall back to
 * "no position known" instead of throwing.
 */
import { ParseErrorCode, parseTree, type Node, type ParseError } from 'jsonc-parser';

/** The first offending position in a text and what is wrong there. */
export interface JsonSyntaxProblem {
  offset: number;
  message: string;
}

/** Strict JSON: jsonc-parser's defaults allow neither, but say so rather than rely on it. */
const STRICT = { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false } as const;

/** The valid prefix of a string token's content (after its opening quote). */
const STRING_CONTENT = /(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*/y;

/**
 * The first syntax problem in `text` read as strict JSON (RFC 8259), or null if there is
 * none (or the text is too deeply nested to say).
 *
 * @example
 * findJsonSyntaxProblem('[1, 2,]'); // { offset: 6, message: 'trailing comma' }
 */
export function findJsonSyntaxProblem(text: string): JsonSyntaxProblem | null {
  const errors: ParseError[] = [];
  let root: Node | undefined;
  try {
    root = parseTree(text, errors, STRICT);
  } catch {
    return null; // too deep for jsonc-parser's recursion (a RangeError)
  }
  const first = errors[0];
  return first === undefined ? null : describe(text, first, root);
}

/**
 * A function from a path (object keys and array indices) to the offset of the value there
 * (of its key, for an object member, unless `point` is `'value'`), or of its deepest
 * ancestor present in the text (at its key); 0
 * when not even the root is there. The text is parsed on the first call only, so a valid
 * file that needs no positions pays nothing. With duplicate keys the first occurrence wins
 * (`JSON.parse` keeps the last; a task file with duplicates is wrong either way).
 *
 * @example
 * const offsetOf = jsonOffsets('{"tasks": [{"id": "a"}]}');
 * offsetOf(['tasks', 0, 'id']); // 12, at "id"
 */
export function jsonOffsets(text: string): (path: readonly PropertyKey[], point?: 'key' | 'value') => number {
  let root: Node | null | undefined;
  return (path, point = 'key') => {
    if (root === undefined) {
      try {
        root = parseTree(text, [], STRICT) ?? null;
      } catch {
        root = null; // too deep for jsonc-parser's recursion
      }
    }
    if (root === null) return 0;
    let node = root;
    let offset = root.offset;
    let found = 0;
    for (const segment of path) {
      const child = childAt(node, segment);
      if (child === undefined) break;
      node = child;
      offset = child.parent?.type === 'property' ? child.parent.offset : child.offset;
      found++;
    }
    return point === 'value' && found === path.length ? node.offset : offset;
  };
}

/** The value node under `node` at a key or index; keys and indices compare as text, as in a path string. */
function childAt(node: Node, segment: PropertyKey): Node | undefined {
  const key = String(segment);
  if (node.type === 'array') return /^(?:0|[1-9]\d*)$/.test(key) ? node.children?.[Number(key)] : undefined;
  if (node.type !== 'object') return undefined;
  const member = node.children?.find((property) => property.children?.[0]?.value === key);
  return member?.children?.[1];
}

/** jsonc-parser's error, in the words (and at the character) a person editing the file needs. */
function describe(text: string, error: ParseError, root: Node | undefined): JsonSyntaxProblem {
  const unexpected = (offset: number): JsonSyntaxProblem => ({
    offset,
    message: offset >= text.length ? 'unexpected end of input' : `unexpected ${JSON.stringify(text[offset])}`,
  });
  const { offset, length } = error;
  switch (error.error) {
    case ParseErrorCode.EndOfFileExpected:
      return { offset, message: 'unexpected text after the JSON value' };
    case ParseErrorCode.InvalidSymbol:
      // Past the end of a complete root value: e.g. `[1] x`.
      if (root !== undefined && offset >= root.offset + root.length) return { offset, message: 'unexpected text after the JSON value' };
      return unexpected(offset);
    case ParseErrorCode.ValueExpected:
    case ParseErrorCode.PropertyNameExpected:
      return isTrailingComma(text, offset) ? { offset, message: 'trailing comma' } : unexpected(offset);
    case ParseErrorCode.UnexpectedEndOfNumber:
      // The number token is `1.` or `1e+`: the digit it lacks is wanted just past it.
      return unexpected(offset + length);
    case ParseErrorCode.UnexpectedEndOfString:
      // Reported for the whole token, which ends at the line break or the end of the text.
      return { offset: offset + length, message: 'bad string' };
    case ParseErrorCode.InvalidUnicode:
    case ParseErrorCode.InvalidEscapeCharacter:
    case ParseErrorCode.InvalidCharacter:
      // Reported for the whole string token: point at the bad escape or control character in it.
      STRING_CONTENT.lastIndex = offset + 1;
      STRING_CONTENT.test(text);
      return { offset: Math.min(STRING_CONTENT.lastIndex, offset + length), message: 'bad string' };
    default:
      // Missing `,` `:` `]` `}`, a comment, a bad number: name what is there instead.
      return unexpected(offset);
  }
}

/**
 * Whether a closing `]` or `}` at `offset` follows a comma. Only JSON whitespace can lie
 * between: this is the first error, so there is no comment before it.
 */
function isTrailingComma(text: string, offset: number): boolean {
  const closer = text[offset];
  if (closer !== ']' && closer !== '}') return false;
  let i = offset - 1;
  while (i >= 0 && ' \t\n\r'.includes(text[i] as string)) i--;
  return text[i] === ',';
}
