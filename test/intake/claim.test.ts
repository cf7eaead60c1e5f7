/**
 * Claiming and filing on a real folder: a claim of a file already taken is false, not an
 * error; filing never replaces a file, nor a file's companion.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { claimFile, fileUnder } from '../../src/intake/claim.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'coord-claim-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('claimFile', () => {
  it('moves the file into the claim folder, making the folder when missing', async () => {
    writeFileSync(path.join(dir, 'a.json'), '{}');
    const claimed = path.join(dir, '.claimed', 'n1');
    await expect(claimFile(dir, 'a.json', claimed)).resolves.toBe('claimed');
    expect(readdirSync(claimed)).toEqual(['a.json']);
    expect(existsSync(path.join(dir, 'a.json'))).toBe(false);
  });

  it('is "gone" for a file already taken, and only one of two claims wins', async () => {
    writeFileSync(path.join(dir, 'a.json'), '{}');
    const results = await Promise.all([claimFile(dir, 'a.json', path.join(dir, 'n1')), claimFile(dir, 'a.json', path.join(dir, 'n2'))]);
    expect(results.sort()).toEqual(['claimed', 'gone']);
    await expect(claimFile(dir, 'a.json', path.join(dir, 'n3'))).resolves.toBe('gone');
  });

  it('does not replace an earlier claimed file of the same name', async () => {
    const claimed = path.join(dir, 'n1');
    mkdirSync(claimed);
    writeFileSync(path.join(claimed, 'a.json'), 'earlier');
    writeFileSync(path.join(dir, 'a.json'), 'later');
    await expect(claimFile(dir, 'a.json', claimed)).resolves.toBe('occupied');
    expect(readFileSync(path.join(claimed, 'a.json'), 'utf8')).toBe('earlier');
    expect(readFileSync(path.join(dir, 'a.json'), 'utf8')).toBe('later');
  });
});

describe('fileUnder', () => {
  const source = (text: string): string => {
    const file = path.join(dir, 'src.json');
    writeFileSync(file, text);
    return file;
  };

  it('keeps the name when it is free, and suffixes it when it is not', async () => {
    const folder = path.join(dir, 'accepted');
    await expect(fileUnder(source('1'), folder, 't.json')).resolves.toBe('t.json');
    const second = await fileUnder(source('2'), folder, 't.json');
    const third = await fileUnder(source('3'), folder, 't.json');
    expect(second).toMatch(/^t\.\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z\.json$/);
    expect(third).not.toBe(second);
    expect([second, third].map((name) => readFileSync(path.join(folder, name), 'utf8'))).toEqual(['2', '3']);
    expect(readFileSync(path.join(folder, 't.json'), 'utf8')).toBe('1');
    expect(existsSync(path.join(dir, 'src.json'))).toBe(false);
  });

  it('treats a name as taken when its companion is there', async () => {
    const folder = path.join(dir, 'rejected');
    mkdirSync(folder);
    writeFileSync(path.join(folder, 't.yaml.error.json'), 'someone else’s');
    const name = await fileUnder(source('x'), folder, 't.yaml', { companionSuffix: '.error.json' });
    expect(name).not.toBe('t.yaml');
    expect(name.endsWith('.yaml')).toBe(true);
  });
});
