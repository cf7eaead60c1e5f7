/**
 * Reading the config file: YAML (`coord.yaml`) or JSON, validated whole against
 * {@link ConfigFileSchema}. Every problem is a `CONFIG_INVALID` error that says where it is,
 * `coord.yaml:4:3: unknown key "worker" (did you mean "workers"?)`, with `details` holding
 * `file`, `line`, `column` and `path` of the first problem and the first few of them all.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { CoordError } from '../errors.js';
import { findJsonSyntaxProblem } from '../tasks/json-positions.js';
import { documentLocator, formatPath, jsonLocator, positionOfOffset, type Locator, type SourcePosition } from '../tasks/source-positions.js';
import { problemsOf } from './issues.js';
import { ConfigFileSchema, type ConfigFile } from './schema.js';

/** One problem in a config file. */
export interface ConfigFileIssue {
  /** Where in the data, e.g. `breaker.failureThreshold`; empty for the whole file. */
  path: string;
  line: number;
  column: number;
  /** What is wrong, naming the key: `breaker.failureThreshold: must be an integer of at least 1`. */
  message: string;
}

/** How many problems one error lists; the rest are counted. */
const MAX_REPORTED_ISSUES = 5;

/**
 * Reads and validates the config file at `file` (an absolute path); messages name it as
 * `displayName` (e.g. relative to the working directory). Throws `CONFIG_INVALID`.
 *
 * @example
 * const config = await loadConfigFile('/srv/app/coord.yaml', 'coord.yaml');
 * // CoordError CONFIG_INVALID: "coord.yaml:2:10: workers: must be an integer from 1 to 64"
 */
export async function loadConfigFile(file: string, displayName: string = file): Promise<ConfigFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    const missing = (cause as NodeJS.ErrnoException).code === 'ENOENT';
    const reason = missing ? 'no such config file' : `cannot read the config file: ${cause instanceof Error ? cause.message : String(cause)}`;
    throw new CoordError('CONFIG_INVALID', `${displayName}: ${reason}`, { cause, details: { file } });
  }
  return parseConfigText(text, file, displayName);
}

/**
 * Parses and validates config-file text. `file`'s extension picks the format (`.json` →
 * JSON, `.yaml` / `.yml` → YAML, anything else: JSON if it parses as JSON, else YAML). An
 * empty file (or one of only comments) is `{}`: every setting at its default.
 */
export function parseConfigText(text: string, file: string, displayName: string = file): ConfigFile {
  const source = text.startsWith('\uFEFF') ? text.slice(1) : text;
  if (source.trim() === '') return ConfigFileSchema.parse({});
  const { data, locate } = parseSource(source, file, displayName);
  const root = data ?? {}; // a YAML file of only comments
  if (typeof root !== 'object' || Array.isArray(root)) {
    const what = Array.isArray(root) ? 'a list' : `a ${typeof root}`;
    throw fileError(file, displayName, [{ path: '', ...locate([]), message: `the config file must be a mapping of settings (e.g. "workers: 4"), not ${what}` }], 1);
  }
  const parsed = ConfigFileSchema.safeParse(root, { reportInput: true });
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues
    .flatMap((issue) => problemsOf(issue, ConfigFileSchema))
    .map((problem) => ({ path: formatPath(problem.path), ...locate(problem.path, problem.point), message: problem.message }))
    .sort((a, b) => a.line - b.line || a.column - b.column);
  throw fileError(file, displayName, issues.slice(0, MAX_REPORTED_ISSUES), issues.length);
}

function parseSource(text: string, file: string, displayName: string): { data: unknown; locate: Locator } {
  const extension = extname(file).toLowerCase();
  if (extension === '.yaml' || extension === '.yml') return parseYaml(text, file, displayName);
  try {
    return { data: JSON.parse(text) as unknown, locate: jsonLocator(text) };
  } catch (cause) {
    if (extension !== '.json') return parseYaml(text, file, displayName);
    const problem = findJsonSyntaxProblem(text);
    const at = positionOfOffset(text, problem?.offset ?? text.length);
    const reason = problem?.message ?? (cause instanceof Error ? cause.message : String(cause));
    throw fileError(file, displayName, [{ path: '', ...at, message: `invalid JSON: ${reason}` }], 1, cause);
  }
}

function parseYaml(text: string, file: string, displayName: string): { data: unknown; locate: Locator } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    const issues = doc.errors.map((error) => ({ path: '', ...yamlPosition(lineCounter, error.pos[0]), message: `invalid YAML: ${error.message}` }));
    throw fileError(file, displayName, issues.slice(0, MAX_REPORTED_ISSUES), issues.length, doc.errors[0]);
  }
  try {
    return { data: doc.toJS() as unknown, locate: documentLocator(doc, lineCounter) };
  } catch (cause) {
    // e.g. an alias bomb ("excessive alias count"): refuse the file, don't expand it.
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw fileError(file, displayName, [{ path: '', line: 1, column: 1, message: `invalid YAML: ${reason}` }], 1, cause);
  }
}

function yamlPosition(lineCounter: LineCounter, offset: number): SourcePosition {
  const { line, col } = lineCounter.linePos(offset);
  return { line: Math.max(line, 1), column: col };
}

/** One error for the file: the first issue's place in `details`, every listed issue in the message. */
function fileError(file: string, displayName: string, issues: ConfigFileIssue[], issueCount: number, cause?: unknown): CoordError {
  const first = issues[0] ?? { path: '', line: 1, column: 1, message: 'invalid config file' };
  const lines = issues.map((i) => `${displayName}:${i.line}:${i.column}: ${i.message}`);
  if (issueCount > issues.length) lines.push(`(and ${issueCount - issues.length} more)`);
  return new CoordError('CONFIG_INVALID', lines.join('\n  '), {
    cause,
    details: { file, line: first.line, column: first.column, path: first.path, issues, issueCount },
  });
}
