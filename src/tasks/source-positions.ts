/**
 * Line and column of a value in a task file or the config file, by its path (`['tasks', 3,
 * 'run']`): from the source ranges YAML's parser keeps on every node, or, for JSON, from
 * jsonc-parser's tree (parsing JSON with the YAML parser would work too, but takes seconds
 * on a large file).
 */
import { isMap, isNode, isScalar, isSeq, type Document, type LineCounter } from 'yaml';
import { jsonOffsets } from './json-positions.js';

/** 1-based line and column. */
export interface SourcePosition {
  line: number;
  column: number;
}

/**
 * What a path ending at a mapping entry points at: its key (`run:`, where a reader looks for
 * a field: the default) or its value (where a wrong value is).
 */
export type PathPoint = 'key' | 'value';

/**
 * Finds the position of the value at `path`, or of its deepest ancestor present in the file
 * (at that ancestor's key, whatever `point` says).
 */
export type Locator = (path: readonly PropertyKey[], point?: PathPoint) => SourcePosition;

const FILE_START: SourcePosition = { line: 1, column: 1 };

/**
 * A locator over a parsed YAML document. A path ending at a mapping key points at the key
 * (`run:` rather than its value) — that is where a reader looks for the field — unless asked
 * for the value; a path that leaves the document (a missing field) points at the nearest
 * enclosing node.
 */
export function documentLocator(doc: Document, lineCounter: LineCounter): Locator {
  return (path, point = 'key') => {
    let node: unknown = doc.contents;
    let offset = isNode(node) ? (node.range?.[0] ?? null) : null;
    let found = 0;
    for (const segment of path) {
      let next: unknown;
      if (isMap(node)) {
        const pair = node.items.find((item) => keyText(item.key) === String(segment));
        if (pair === undefined) break;
        if (isNode(pair.key) && pair.key.range) offset = pair.key.range[0];
        next = pair.value;
      } else if (isSeq(node) && typeof segment === 'number') {
        next = node.items[segment];
        if (!isNode(next)) break;
        if (next.range) offset = next.range[0];
      } else break;
      node = next;
      found++;
    }
    // An empty value (`workers:` and nothing) is an empty range after the colon: the key stays.
    if (point === 'value' && found === path.length && isNode(node) && node.range && node.range[1] > node.range[0]) offset = node.range[0];
    if (offset === null) return FILE_START;
    const { line, col } = lineCounter.linePos(offset);
    return line === 0 ? FILE_START : { line, column: col };
  };
}

/**
 * A locator for a JSON text. It parses the text for positions only when first asked, so
 * the happy path (a valid file) pays nothing; an object member is found at its key.
 */
export function jsonLocator(text: string): Locator {
  const offsetOf = jsonOffsets(text);
  return (path, point) => positionOfOffset(text, offsetOf(path, point));
}

/** Position of a character offset in `text`. */
export function positionOfOffset(text: string, offset: number): SourcePosition {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(Math.max(offset, 0), text.length);
  for (let i = text.indexOf('\n'); i !== -1 && i < end; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: end - lineStart + 1 };
}

/**
 * A path as a reader writes it: `tasks[3].run`, `agents["my agent"].command`.
 *
 * @example
 * formatPath(['pools', 0, 'workers']); // 'pools[0].workers'
 */
export function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((key, i) => {
      if (typeof key === 'number') return `[${key}]`;
      const name = String(key);
      if (/^[A-Za-z_$][\w$]*$/.test(name)) return i === 0 ? name : `.${name}`;
      return `[${JSON.stringify(name)}]`;
    })
    .join('');
}

function keyText(key: unknown): string {
  return isScalar(key) ? String(key.value) : String(key);
}
