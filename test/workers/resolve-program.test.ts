import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveProgram } from '../../workers/resolve-program.js';

describe('resolveProgram', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'coord-resolve-'));
    await writeFile(path.join(dir, 'tool'), '#!/bin/sh\necho hi\n');
    await chmod(path.join(dir, 'tool'), 0o755);
    await writeFile(path.join(dir, 'plain'), 'not executable\n');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('finds a bare name on PATH, first directory first', async () => {
    expect(await resolveProgram('tool', '/', `/nonexistent:${dir}`)).toEqual({ ok: true, path: path.join(dir, 'tool') });
    expect(await resolveProgram('sh', '/', process.env.PATH)).toMatchObject({ ok: true });
  });

  it('resolves a path with a slash against cwd', async () => {
    expect(await resolveProgram('./tool', dir, '')).toEqual({ ok: true, path: path.join(dir, 'tool') });
  });

  it('reports a missing program as ENOENT and a non-executable one as EACCES', async () => {
    expect(await resolveProgram('no-such-tool-9d2', dir, dir)).toMatchObject({ ok: false, code: 'ENOENT' });
    expect(await resolveProgram('./missing', dir, '')).toMatchObject({ ok: false, code: 'ENOENT' });
    expect(await resolveProgram('plain', '/', dir)).toMatchObject({ ok: false, code: 'EACCES' });
    expect(await resolveProgram('.', dir, dir)).toMatchObject({ ok: false });
  });

  it('does not search the current directory through an empty PATH entry', async () => {
    expect(await resolveProgram('tool', dir, '')).toMatchObject({ ok: false, code: 'ENOENT' });
  });
});
