/**
 * Store URLs: `memory:`, `sqlite:PATH` (relative to the working directory, or absolute;
 * `sqlite:///abs/path` also works) and `postgres://…` / `postgresql://…`, whose `?schema=`
 * names the PostgreSQL schema holding coord's tables (default `coord`).
 */
import { join, resolve } from 'node:path';
import { CoordError } from '../errors.js';

/** The default PostgreSQL schema. */
export const DEFAULT_PG_SCHEMA = 'coord';

/** Schema names become identifiers and part of a NOTIFY channel: kept simple and short. */
const SCHEMA_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,47}$/;

/** A parsed store URL. */
export type StoreLocation =
  | { kind: 'memory' }
  | { kind: 'sqlite'; path: string }
  | { kind: 'postgres'; connectionString: string; schema: string; display: string };

function invalid(url: string, why: string): CoordError {
  return new CoordError(
    'STORE_URL_INVALID',
    `invalid store URL "${url}": ${why} (expected memory:, sqlite:PATH or postgres://USER@HOST/DB?schema=NAME)`,
    { details: { url } },
  );
}

/**
 * Parses `url`, resolving a SQLite path against `cwd`. Throws `STORE_URL_INVALID`.
 *
 * @example
 * parseStoreUrl('sqlite:state/coord.db', '/srv'); // { kind: 'sqlite', path: '/srv/state/coord.db' }
 */
export function parseStoreUrl(url: string, cwd: string = process.cwd()): StoreLocation {
  if (url === 'memory:' || url === 'memory://') return { kind: 'memory' };
  if (url.startsWith('sqlite:')) {
    let path = url.slice('sqlite:'.length);
    if (path.startsWith('//')) path = path.slice(2); // sqlite:///abs → /abs
    if (path === '' || path.endsWith('/')) throw invalid(url, 'no database file named');
    return { kind: 'sqlite', path: resolve(cwd, path) };
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return parsePostgres(url);
  throw invalid(url, 'unknown scheme');
}

function parsePostgres(url: string): StoreLocation {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw invalid(url, `not a URL (${error instanceof Error ? error.message : String(error)})`);
  }
  if (parsed.hostname === '' && !parsed.searchParams.has('host')) throw invalid(url, 'no host');
  const schema = parsed.searchParams.get('schema') ?? DEFAULT_PG_SCHEMA;
  if (!SCHEMA_PATTERN.test(schema)) throw invalid(url, `schema "${schema}" must match ${SCHEMA_PATTERN.source}`);
  parsed.searchParams.delete('schema');
  const connectionString = parsed.toString();
  const display = new URL(connectionString);
  if (display.password !== '') display.password = '***';
  display.searchParams.set('schema', schema);
  return { kind: 'postgres', connectionString, schema, display: display.toString() };
}

/** The default store: `sqlite:<stateDir>/coord.db`. */
export function defaultStoreUrl(stateDir: string): string {
  return `sqlite:${join(stateDir, 'coord.db')}`;
}
