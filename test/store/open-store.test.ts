/** Opening stores from URLs: schemes, paths, schemas, and the errors for bad or unreachable ones. */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isCoordError } from '../../src/errors.js';
import { defaultStoreUrl, openStore, parseStoreUrl } from '../../src/store/open-store.js';

async function codeOf(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
  } catch (error) {
    if (isCoordError(error)) return error.code;
    throw error;
  }
  return 'no error';
}

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe('parseStoreUrl', () => {
  it('reads memory, sqlite (relative to cwd, or absolute) and postgres URLs', () => {
    expect(parseStoreUrl('memory:')).toEqual({ kind: 'memory' });
    expect(parseStoreUrl('sqlite:state/coord.db', '/srv')).toEqual({ kind: 'sqlite', path: '/srv/state/coord.db' });
    expect(parseStoreUrl('sqlite:/var/lib/c.db', '/srv')).toEqual({ kind: 'sqlite', path: '/var/lib/c.db' });
    expect(parseStoreUrl('sqlite:///var/lib/c.db', '/srv')).toEqual({ kind: 'sqlite', path: '/var/lib/c.db' });
    expect(parseStoreUrl('postgres://u:secret@db:5433/q?schema=team_a&sslmode=disable')).toEqual({
      kind: 'postgres',
      connectionString: 'postgres://u:secret@db:5433/q?sslmode=disable',
      schema: 'team_a',
      display: 'postgres://u:***@db:5433/q?sslmode=disable&schema=team_a',
    });
    expect(parseStoreUrl('postgresql://db/q')).toMatchObject({ kind: 'postgres', schema: 'coord' });
  });

  it('refuses anything else with STORE_URL_INVALID', async () => {
    for (const url of ['', 'redis://x', 'sqlite:', 'sqlite:dir/', 'postgres://db/q?schema=bad-name', 'postgres://db/q?schema=x%22y', 'postgres://']) {
      expect(await codeOf(async () => parseStoreUrl(url)), url).toBe('STORE_URL_INVALID');
    }
  });

  it('defaults to a SQLite file in the state directory', () => {
    expect(defaultStoreUrl('/srv/state')).toBe('sqlite:/srv/state/coord.db');
  });
});

describe('openStore', () => {
  it('opens each kind, creating a SQLite file\'s parent directories', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'coord-open-'));
    dirs.push(dir);
    const memory = await openStore('memory:');
    expect(memory.kind).toBe('memory');
    await memory.close();
    const path = join(dir, 'a', 'b', 'coord.db');
    const sqlite = await openStore(`sqlite:${path}`);
    expect(sqlite.kind).toBe('sqlite');
    expect(existsSync(path)).toBe(true);
    await sqlite.close();
  });

  it('says STORE_UNAVAILABLE when the database cannot be reached, and names storage faults', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'coord-open-'));
    dirs.push(dir);
    await writeFile(join(dir, 'file'), 'not a directory');
    // A directory that cannot be made (ENOTDIR) and a file that is not a database
    // (SQLITE_NOTADB) are storage faults with their own codes, not "unavailable".
    expect(await codeOf(() => openStore(`sqlite:${join(dir, 'file', 'coord.db')}`))).toBe('STATE_DIR_UNWRITABLE');
    await writeFile(join(dir, 'garbage.db'), 'this is not a database'.repeat(100));
    expect(await codeOf(() => openStore(`sqlite:${join(dir, 'garbage.db')}`))).toBe('STORE_CORRUPT');
    expect(await codeOf(() => openStore('postgres://postgres@127.0.0.1:1/test'))).toBe('STORE_UNAVAILABLE');
    expect(await codeOf(() => openStore('postgres://postgres@127.0.0.1:5432/no_such_database_here'))).toBe('STORE_UNAVAILABLE');
  });

  it('refuses to use a store before open', async () => {
    const { SqliteStore } = await import('../../src/store/sqlite-store.js');
    expect(await codeOf(() => new SqliteStore('/nonexistent/x.db').list())).toBe('NOT_RUNNING');
  });
});
