/**
 * A zod issue, said the way a person editing the config file needs it: which key, what it
 * must be (read from the key's own schema, so the limits in the message are the ones
 * checked), and, for a key the schema does not have, the key it probably meant.
 */
import { z } from 'zod';
import { formatPath } from '../tasks/source-positions.js';

/** One problem, before it is given a line. */
export interface Problem {
  /** Where the problem is: the value at fault, or the unknown key itself. */
  path: PropertyKey[];
  /** Whether `path` names a key to point at (an unknown key) or a value. */
  point: 'key' | 'value';
  /** What is wrong, naming the key: `workers: must be an integer from 1 to 64`. */
  message: string;
}

type ZodIssue = z.core.$ZodIssue;

/** The problems of one issue: an issue for several unknown keys becomes one per key. */
export function problemsOf(issue: ZodIssue, root: z.ZodType): Problem[] {
  const path = [...issue.path];
  if (issue.code === 'unrecognized_keys') {
    const known = keysAt(root, path);
    return issue.keys.map((key) => {
      const near = closest(key, known);
      const name = formatPath([...path, key]);
      return { path: [...path, key], point: 'key', message: `unknown key "${name}"${near === null ? '' : ` (did you mean "${near}"?)`}` };
    });
  }
  const named = path.length === 0 ? '' : `${formatPath(path)}: `;
  return [{ path, point: 'value', message: `${named}${valueProblem(issue, schemaAt(root, path))}` }];
}

/** What is wrong with a value, in terms of what its schema accepts. */
function valueProblem(issue: ZodIssue, schema: z.ZodType | undefined): string {
  const number = schema === undefined ? undefined : innermost(schema);
  if (number instanceof z.ZodNumber && ['invalid_type', 'too_small', 'too_big', 'not_multiple_of'].includes(issue.code)) {
    const nullable = schema !== undefined && schema.safeParse(null).success;
    return `must be ${describeNumber(number)}${nullable ? ', or null' : ''}`;
  }
  if (issue.code === 'too_small' && issue.origin === 'string' && Number(issue.minimum) === 1) return 'must not be empty';
  if (issue.code === 'too_small' && issue.origin === 'array') return Number(issue.minimum) === 1 ? 'must not be empty' : `must list at least ${String(issue.minimum)}`;
  if (issue.code === 'invalid_value') return `must be one of ${issue.values.map((value) => JSON.stringify(value)).join(', ')}`;
  // Only a key that is missing has no input (the file is parsed with `reportInput`).
  if (issue.code === 'invalid_type' && issue.input === undefined) return `missing: expected ${issue.expected}`;
  return issue.message.replace(/^Invalid input: /, '');
}

/** The schema that checks the value at `path`, or undefined where the walk loses it. */
export function schemaAt(root: z.ZodType, path: readonly PropertyKey[]): z.ZodType | undefined {
  let schema: z.ZodType | undefined = root;
  for (const segment of path) {
    if (schema === undefined) return undefined;
    const inner = innermost(schema);
    if (inner instanceof z.ZodObject) schema = (inner.shape as Record<string, z.ZodType>)[String(segment)];
    else if (inner instanceof z.ZodRecord) schema = inner.valueType as z.ZodType;
    else if (inner instanceof z.ZodArray) schema = inner.element as z.ZodType;
    else return undefined;
  }
  return schema;
}

/** The keys an object schema at `path` knows. */
function keysAt(root: z.ZodType, path: readonly PropertyKey[]): string[] {
  const schema = schemaAt(root, path);
  const inner = schema === undefined ? undefined : innermost(schema);
  return inner instanceof z.ZodObject ? Object.keys(inner.shape) : [];
}

/** The schema under optional, nullable, default, refinement and transform wrappers. */
export function innermost(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (;;) {
    if (current instanceof z.ZodOptional || current instanceof z.ZodNullable || current instanceof z.ZodDefault || current instanceof z.ZodPrefault) {
      current = current.unwrap() as z.ZodType;
    } else if (current instanceof z.ZodPipe) current = current.in as z.ZodType;
    else return current;
  }
}

/** What a number schema accepts, from its checks: "an integer from 1 to 64". */
export function describeNumber(schema: z.ZodNumber): string {
  const integer = schema.isInt === true;
  let low: { value: number; inclusive: boolean } | undefined;
  let high: { value: number; inclusive: boolean } | undefined;
  for (const check of schema.def.checks ?? []) {
    const def = check._zod.def as { check: string; value?: unknown; inclusive?: unknown };
    if (typeof def.value !== 'number') continue;
    const bound = { value: def.value, inclusive: def.inclusive === true };
    // An integer's exclusive bound is the next integer in: `positive()` is "at least 1".
    if (integer && !bound.inclusive) bound.value += def.check === 'greater_than' ? 1 : -1;
    if (integer) bound.inclusive = true;
    if (def.check === 'greater_than' && (low === undefined || bound.value >= low.value)) low = bound;
    if (def.check === 'less_than' && (high === undefined || bound.value <= high.value)) high = bound;
  }
  const kind = integer ? 'an integer' : 'a number';
  if (low?.inclusive && high?.inclusive) return `${kind} from ${low.value} to ${high.value}`;
  const parts = [
    ...(low === undefined ? [] : [`${low.inclusive ? 'at least' : 'above'} ${low.value}`]),
    ...(high === undefined ? [] : [`${high.inclusive ? 'at most' : 'below'} ${high.value}`]),
  ];
  if (parts.length === 0) return kind;
  return `${kind} ${parts[0]?.startsWith('at ') ? 'of ' : ''}${parts.join(' and ')}`;
}

/** The known key nearest to `key` (a typo, a plural, another case), or null. */
function closest(key: string, known: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  // Up to a third of the key may be wrong: `worker` → `workers`, `loglevel` → `logLevel`.
  return best !== null && bestDistance <= Math.max(1, Math.floor(key.length / 3)) ? best : null;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current.push(Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, (previous[j - 1] as number) + cost));
    }
    previous = current;
  }
  return previous[b.length] as number;
}
