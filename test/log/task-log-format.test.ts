/**
 * The trailer of a capped attempt log, written and read back, and the summary's reading of a
 * real log file.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatLogTrailer, parseLogTrailer } from '../../src/log/task-log-format.js';
import { readAllLogFacts, readLogFacts } from '../../src/supervisor/log-facts.js';

const trailer = { outputBytes: 200_000_027, keptBytes: 52_428_800, capBytes: 52_428_800, truncated: true };

describe('log trailer', () => {
  it('round-trips', () => {
    expect(formatLogTrailer(trailer)).toBe('[coord] log: outputBytes=200000027 keptBytes=52428800 capBytes=52428800 truncated=true\n');
    expect(parseLogTrailer(`output\n[coord] ended: reason=exit\n${formatLogTrailer(trailer)}`)).toEqual(trailer);
    expect(parseLogTrailer(formatLogTrailer(trailer))).toEqual(trailer);
  });

  it('counts only a trailer that is the last line', () => {
    expect(parseLogTrailer(`${formatLogTrailer(trailer)}more output\n`)).toBeNull();
    expect(parseLogTrailer(formatLogTrailer(trailer).trimEnd())).toBeNull();
    expect(parseLogTrailer('x[coord] log: outputBytes=1 keptBytes=1 capBytes=4096 truncated=false\n')).toBeNull();
    expect(parseLogTrailer('')).toBeNull();
  });
});

describe('readLogFacts', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'coord-log-facts-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads the size from the file and the figures from its trailer', async () => {
    const file = path.join(dir, 'attempt-1.log');
    const text = `[coord] header\n${'x'.repeat(10_000)}\n[coord] ended: reason=exit\n${formatLogTrailer({ ...trailer, outputBytes: 10_001, keptBytes: 10_001, truncated: false })}`;
    await writeFile(file, text);
    expect(await readLogFacts(file)).toEqual({ file, bytes: Buffer.byteLength(text), outputBytes: 10_001, keptBytes: 10_001, capBytes: 52_428_800, truncated: false });
  });

  it('says null for the figures of a log coord did not close (running, or its worker died), and null for no file', async () => {
    const open = path.join(dir, 'attempt-2.log');
    await writeFile(open, '[coord] header\nhalf of it');
    const missing = path.join(dir, 'attempt-3.log');
    const facts = await readAllLogFacts([open, missing]);
    expect(facts.get(open)).toEqual({ file: open, bytes: 25, outputBytes: null, keptBytes: null, capBytes: null, truncated: null });
    expect(facts.get(missing)).toBeNull();
  });
});
