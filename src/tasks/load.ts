/**
 * Reading a task file (`--tasks FILE`): JSON or YAML holding `{ "tasks": [TaskSpec, ...] }`.
 * Every problem is reported with the file, line and column it is at, and the file is
 * accepted whole or not at all: one CoordError lists the first few problems.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { CoordError, isCoordError, type CoordErrorCode } from '../errors.js';
import { findJsonSyntaxProblem } from './json-positions.js';
import { documentLocator, formatPath, jsonLocator, positionOfOffset, type Locator, type SourcePosition } from './source-positions.js';
import { TaskFileSchema, TaskSpecSchema, isSafeTaskId, type TaskSpec } from './spec.js';
import { validateGraph, type TaskIdLookup } from './validate-graph.js';

/** Options for {@link parseTaskFileText} and {@link loadTaskFile}. */
export interface LoadOptions {
  /** Tasks already known (e.g. the queue), which dependencies may name. */
  existing?: TaskIdLookup;
}

/** One problem found in a task file, as listed in a CoordError's `details.issues`. */
export interface TaskFileIssue {
  code: CoordErrorCode;
  /** Where in the data, e.g. `tasks[3].run`; empty for the whole file. */
  path: string;
  line: number;
  column: number;
  message: string;
}

/** How many problems one error lists; the rest are only counted (`details.issueCount`). */
const MAX_REPORTED_ISSUES = 5;

type ZodIssue = z.ZodError['issues'][number];

/**
 * Reads and validates the task file at `path`. Throws a CoordError: `TASK_FILE_UNREADABLE`,
 * `TASK_FILE_SYNTAX`, `TASK_INVALID`, `TASK_UNSAFE_ID`, or a graph error (`TASK_DUPLICATE_ID`,
 * `TASK_UNKNOWN_DEP`, `TASK_CYCLE`); `details` holds `file`, `line`, `column`.
 *
 * @example
 * const specs = await loadTaskFile('tasks.yaml');
 * // CoordError TASK_INVALID: "tasks.yaml:12:5: tasks[3].run: expected array, received string"
 */
export async function loadTaskFile(path: string, options: LoadOptions = {}): Promise<TaskSpec[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new CoordError('TASK_FILE_UNREADABLE', `${path}: cannot read the task file: ${reason}`, { cause, details: { file: path } });
  }
  return parseTaskFileText(text, path, options);
}

/**
 * Parses and validates task-file text; `fileName` picks the format (`.json` → JSON, `.yaml`
 * / `.yml` → YAML, anything else: JSON if it parses as JSON, else YAML) and names the file in
 * messages. Same errors as {@link loadTaskFile}, bar `TASK_FILE_UNREADABLE`.
 */
export function parseTaskFileText(text: string, fileName: string, options: LoadOptions = {}): TaskSpec[] {
  const source = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const { data, locate } = parseSource(source, fileName);
  const specs = validateSpecs(data, locate, fileName);
  try {
    validateGraph(specs, options.existing);
  } catch (error) {
    if (!isCoordError(error)) throw error;
    const at = locate(graphErrorPath(error.details));
    throw new CoordError(error.code, `${fileName}:${at.line}:${at.column}: ${error.message}`, {
      cause: error,
      details: { ...error.details, file: fileName, line: at.line, column: at.column },
    });
  }
  return specs;
}

function parseSource(text: string, fileName: string): { data: unknown; locate: Locator } {
  const extension = extname(fileName).toLowerCase();
  if (extension === '.yaml' || extension === '.yml') return parseYaml(text, fileName);
  try {
    return { data: JSON.parse(text) as unknown, locate: jsonLocator(text) };
  } catch (cause) {
    if (extension !== '.json') return parseYaml(text, fileName);
    const problem = findJsonSyntaxProblem(text);
    const at = positionOfOffset(text, problem?.offset ?? text.length);
    const reason = problem?.message ?? (cause instanceof Error ? cause.message : String(cause));
    throw syntaxError(fileName, [{ ...at, message: `invalid JSON: ${reason}` }], cause);
  }
}

function parseYaml(text: string, fileName: string): { data: unknown; locate: Locator } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((error) => {
      const { line, col } = lineCounter.linePos(error.pos[0]);
      return { line: Math.max(line, 1), column: col, message: `invalid YAML: ${error.message}` };
    });
    throw syntaxError(fileName, problems, doc.errors[0]);
  }
  let data: unknown;
  try {
    data = doc.toJS();
  } catch (cause) {
    // e.g. an alias bomb ("excessive alias count"): reject the file, don't expand it.
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw syntaxError(fileName, [{ line: 1, column: 1, message: `invalid YAML: ${reason}` }], cause);
  }
  return { data, locate: documentLocator(doc, lineCounter) };
}

function syntaxError(fileName: string, problems: Array<SourcePosition & { message: string }>, cause: unknown): CoordError {
  const issues: TaskFileIssue[] = problems.map((p) => ({ code: 'TASK_FILE_SYNTAX', path: '', ...p }));
  return fileError(fileName, issues, issues.length, cause);
}

/** Schema checks, all tasks: every problem is counted, the first few are located and listed. */
function validateSpecs(data: unknown, locate: Locator, fileName: string): TaskSpec[] {
  const file = TaskFileSchema.safeParse(data);
  if (!file.success) {
    if (Array.isArray(data)) {
      // A list of tasks at the top: the most common first mistake, and an easy one to say.
      const issue: TaskFileIssue = {
        code: 'TASK_INVALID', path: '', ...locate([]),
        message: 'the file is a list; put the tasks under a "tasks" key: {"tasks": [...]} (in YAML: a first line "tasks:" and the list indented under it)',
      };
      throw fileError(fileName, [issue], 1);
    }
    const issues = file.error.issues.map((issue) => toIssue(issue, [], data, locate));
    throw fileError(fileName, issues.slice(0, MAX_REPORTED_ISSUES), issues.length);
  }
  const specs: TaskSpec[] = [];
  const issues: TaskFileIssue[] = [];
  let issueCount = 0;
  file.data.tasks.forEach((raw, index) => {
    const parsed = TaskSpecSchema.safeParse(raw);
    if (parsed.success) {
      specs.push(parsed.data);
      return;
    }
    for (const issue of parsed.error.issues) {
      issueCount++;
      if (issues.length < MAX_REPORTED_ISSUES) issues.push(toIssue(issue, ['tasks', index], raw, locate));
    }
  });
  if (issueCount > 0) throw fileError(fileName, issues, issueCount);
  return specs;
}

function toIssue(issue: ZodIssue, prefix: readonly PropertyKey[], raw: unknown, locate: Locator): TaskFileIssue {
  const path = [...prefix, ...issue.path];
  // An unknown field is best shown at the field itself, not at the task holding it.
  const at = locate(issue.code === 'unrecognized_keys' && issue.keys[0] !== undefined ? [...path, issue.keys[0]] : path);
  const value = valueAt(raw, issue.path);
  // The id refinement is the only custom check on a string value.
  const unsafeId = issue.code === 'custom' && typeof value === 'string' && !isSafeTaskId(value);
  const message = issue.code === 'invalid_key' && issue.issues[0] !== undefined ? issue.issues[0].message : issue.message;
  return {
    code: unsafeId ? 'TASK_UNSAFE_ID' : 'TASK_INVALID',
    path: formatPath(path),
    line: at.line,
    column: at.column,
    message: unsafeId ? `${JSON.stringify(value)}: ${message}` : message.replace(/^Invalid input: /, ''),
  };
}

/** One error for the file: the first issue's code and place, every listed issue in the message. */
function fileError(fileName: string, issues: TaskFileIssue[], issueCount: number, cause?: unknown): CoordError {
  const first = issues[0] ?? { code: 'TASK_INVALID', path: '', line: 1, column: 1, message: 'invalid task file' };
  const lines = issues.map((i) => `${fileName}:${i.line}:${i.column}: ${i.path === '' ? '' : `${i.path}: `}${i.message}`);
  if (issueCount > issues.length) lines.push(`(and ${issueCount - issues.length} more)`);
  return new CoordError(first.code, lines.join('\n  '), {
    cause,
    details: { file: fileName, line: first.line, column: first.column, issues, issueCount },
  });
}

/** Where a graph error points: the dependency entry, else the task's id. */
function graphErrorPath(details: Record<string, unknown>): PropertyKey[] {
  const { index, depIndex } = details;
  if (typeof index !== 'number') return ['tasks'];
  return typeof depIndex === 'number' ? ['tasks', index, 'deps', depIndex] : ['tasks', index, 'id'];
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let value = root;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}
