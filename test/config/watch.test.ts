/**
 * The config watcher on a real directory: one onChange per burst of writes, heard after a
 * rename-save and a truncate-and-write, onError when the file is deleted. Each check waits
 * for something to happen; that nothing else happened is shown by a later, marked write
 * being the next thing heard.
 */
import { appendFileSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { watchConfigFile, type ConfigWatch } from '../../src/config/watch.js';

const WAIT = { timeout: 10_000, interval: 20 };

let dir: string;
let watcher: ConfigWatch | undefined;
afterEach(async () => {
  await watcher?.close();
  watcher = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** Watches a fresh coord.yaml; each onChange records what the file held when it was called. */
async function watching(initial = 'workers: 1\n'): Promise<{ file: string; changes: string[]; errors: Error[] }> {
  dir = mkdtempSync(path.join(os.tmpdir(), 'coord-watch-'));
  const file = path.join(dir, 'coord.yaml');
  writeFileSync(file, initial);
  const changes: string[] = [];
  const errors: Error[] = [];
  // The default debounce (500 ms): a loaded machine may spread one burst's events out.
  watcher = watchConfigFile(file, {
    onChange: () => changes.push(readFileSync(file, 'utf8')),
    onError: (error) => errors.push(error),
  });
  await watcher.ready;
  return { file, changes, errors };
}

/** Writes a marker and waits until it is heard: every change heard before it is in `changes` by then. */
async function markAndWait(file: string, changes: string[]): Promise<void> {
  writeFileSync(file, 'workers: 64 # marker\n');
  await vi.waitFor(() => expect(changes.at(-1)).toBe('workers: 64 # marker\n'), WAIT);
}

describe('watchConfigFile', () => {
  it('calls onChange once for a burst of writes, with the last of them', async () => {
    const { file, changes, errors } = await watching();
    for (let workers = 2; workers <= 6; workers++) writeFileSync(file, `workers: ${workers}\n`);
    await vi.waitFor(() => expect(changes).toHaveLength(1), WAIT);
    await markAndWait(file, changes);
    expect(changes).toEqual(['workers: 6\n', 'workers: 64 # marker\n']);
    expect(errors).toEqual([]);
  });

  it('hears a save by rename (mv tmp coord.yaml), and goes on hearing after it', async () => {
    const { file, changes } = await watching();
    const tmp = path.join(dir, '.coord.yaml.tmp');
    writeFileSync(tmp, 'workers: 2\n');
    renameSync(tmp, file);
    await vi.waitFor(() => expect(changes).toEqual(['workers: 2\n']), WAIT);
    writeFileSync(tmp, 'workers: 3\n');
    renameSync(tmp, file);
    await vi.waitFor(() => expect(changes).toEqual(['workers: 2\n', 'workers: 3\n']), WAIT);
    await markAndWait(file, changes);
    expect(changes).toHaveLength(3);
  });

  it("hears vim's save: the old file renamed away, a new one written", async () => {
    const { file, changes, errors } = await watching();
    renameSync(file, `${file}~`);
    writeFileSync(file, 'workers: 5\n');
    rmSync(`${file}~`);
    await vi.waitFor(() => expect(changes).toEqual(['workers: 5\n']), WAIT);
    expect(errors).toEqual([]);
  });

  it('a truncate then a write is one change, read whole', async () => {
    const { file, changes } = await watching('workers: 1\nlogLevel: info\n');
    writeFileSync(file, '');
    appendFileSync(file, 'workers: 2\n');
    appendFileSync(file, 'logLevel: debug\n');
    await vi.waitFor(() => expect(changes).toHaveLength(1), WAIT);
    await markAndWait(file, changes);
    expect(changes).toEqual(['workers: 2\nlogLevel: debug\n', 'workers: 64 # marker\n']);
  });

  it('calls onError, not onChange, when the file is deleted; a file put back is a change', async () => {
    const { file, changes, errors } = await watching();
    rmSync(file);
    await vi.waitFor(() => expect(errors).toHaveLength(1), WAIT);
    expect(errors[0]).toMatchObject({ code: 'CONFIG_INVALID', message: `${file}: the config file was removed` });
    expect(changes).toEqual([]);
    writeFileSync(file, 'workers: 9\n');
    await vi.waitFor(() => expect(changes).toEqual(['workers: 9\n']), WAIT);
    expect(errors).toHaveLength(1);
  });

  it('does not hear other files in the directory', async () => {
    const { file, changes } = await watching();
    writeFileSync(path.join(dir, 'tasks.yaml'), 'tasks: []\n');
    writeFileSync(path.join(dir, 'coord.yaml.bak'), 'workers: 2\n');
    await markAndWait(file, changes);
    expect(changes).toEqual(['workers: 64 # marker\n']);
  });
});
