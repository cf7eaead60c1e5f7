/**
 * The handoff folder in real temporary folders, with real processes for the pid checks.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { removeHandoff, watchHandoffs, writeHandoff, type HandoffEntry, type HandoffFile, type HandoffWatch, type HandoffWatchOptions } from '../../src/pools/handoff-files.js';

let base: string;
let dir: string;
let watches: HandoffWatch[];
let children: ChildProcess[];

beforeEach(() => {
  base = mkdtempSync(path.join(os.tmpdir(), 'coord-handoff-'));
  dir = path.join(base, 'handoff');
  watches = [];
  children = [];
});
afterEach(async () => {
  await Promise.all(watches.map((watch) => watch.close()));
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(base, { recursive: true, force: true });
});

function announce(workerId: string, extra: Partial<HandoffFile> = {}): HandoffFile {
  return { workerId, pool: 'agents', ready: true, pid: process.pid, worktree: null, at: new Date().toISOString(), ...extra };
}

/** A watch whose changes are recorded, and a logger whose warnings are. */
function start(overrides: Partial<HandoffWatchOptions> = {}) {
  const changes: Array<ReadonlyMap<string, HandoffEntry>> = [];
  const warnings: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) });
  const watch = watchHandoffs({ dir, own: () => false, removeProcessed: false, logger, onChange: (entries) => changes.push(entries), ...overrides });
  watches.push(watch);
  const latest = (): ReadonlyMap<string, HandoffEntry> => changes.at(-1) ?? new Map();
  return { watch, changes, warnings, latest };
}

/** Waits (up to 2 s: the most a change may take to be heard) for `check` to hold. */
async function eventually(check: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('not within the time allowed');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Puts `text` in the folder as `name` in one step (written beside it, then renamed): a plain
 * write can be read half done, which would be one more content to warn about.
 */
function put(name: string, text: string): void {
  const staged = path.join(base, `staged-${name}`);
  writeFileSync(staged, text);
  renameSync(staged, path.join(dir, name));
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('watchHandoffs', () => {
  it('hears an external file written atomically, and one put in place by a plain rename', async () => {
    const { watch, latest } = start();
    await watch.ready;
    await writeHandoff(dir, announce('ext-1'));
    await eventually(() => latest().has('ext-1'));
    expect(latest().get('ext-1')).toMatchObject({ workerId: 'ext-1', pool: 'agents', alive: true, file: path.join(dir, 'ext-1.json') });

    put('ext-2.json', JSON.stringify(announce('ext-2', { ready: false })));
    await eventually(() => latest().has('ext-2'));
    expect(latest().get('ext-2')).toMatchObject({ ready: false, alive: true });
    expect(watch.entries().size).toBe(2);
  });

  it('reads the files already there at start, and an update to one', async () => {
    await writeHandoff(dir, announce('ext-1', { ready: false }));
    const { watch, latest } = start();
    await watch.ready;
    expect(watch.entries().get('ext-1')).toMatchObject({ ready: false });
    expect(latest().get('ext-1')).toMatchObject({ ready: false });
    await writeHandoff(dir, announce('ext-1', { ready: true }));
    await eventually(() => latest().get('ext-1')?.ready === true);
  });

  it('keeps extra keys out of the entry but still takes the file', async () => {
    const { watch, latest } = start();
    await watch.ready;
    put('ext-1.json', JSON.stringify({ ...announce('ext-1'), futureField: 42 }));
    await eventually(() => latest().has('ext-1'));
    expect(latest().get('ext-1')).not.toHaveProperty('futureField');
  });

  it('deletes a file that asks for it and keeps counting its entry', async () => {
    const { watch, latest, changes } = start();
    await watch.ready;
    await writeHandoff(dir, announce('ext-1', { remove: true }));
    await eventually(() => latest().has('ext-1'));
    await eventually(() => !existsSync(path.join(dir, 'ext-1.json')));
    const heard = changes.length;
    await pause(300); // the unlink event of our own delete has come and gone
    expect(changes.length).toBe(heard);
    expect(watch.entries().get('ext-1')).toMatchObject({ alive: true, remove: true });
  });

  it('deletes every external file with removeProcessed', async () => {
    const { watch, latest } = start({ removeProcessed: true });
    await watch.ready;
    await writeHandoff(dir, announce('ext-1'));
    await eventually(() => latest().has('ext-1') && !existsSync(path.join(dir, 'ext-1.json')));
    await pause(300);
    expect(watch.entries().has('ext-1')).toBe(true);
  });

  it('skips the files of its own workers', async () => {
    const { watch, changes, latest } = start({ own: (id) => id.startsWith('own-') });
    await watch.ready;
    await writeHandoff(dir, announce('own-1', { worktree: '/somewhere/w1' }));
    await writeHandoff(dir, announce('ext-1'));
    await eventually(() => latest().has('ext-1'));
    await pause(200);
    expect(changes.every((entries) => !entries.has('own-1'))).toBe(true);
    expect([...watch.entries().keys()]).toEqual(['ext-1']);
    expect(existsSync(path.join(dir, 'own-1.json'))).toBe(true);
  });

  it('ignores an invalid file (one warning per content, left in place) and takes a valid rewrite', async () => {
    const { watch, warnings, latest } = start();
    await watch.ready;
    const file = path.join(dir, 'ext-1.json');
    put('ext-1.json', '{"workerId": "ext-1", "pool": ');
    await eventually(() => warnings.length === 1);
    put('ext-1.json', '{"workerId": "ext-1", "pool": '); // the same content again
    await pause(200);
    put('ext-2.json', JSON.stringify(announce('someone-else')));
    await eventually(() => warnings.length === 2);
    await pause(200);
    expect(warnings).toHaveLength(2);
    expect(JSON.parse(warnings[1] ?? '{}')).toMatchObject({ msg: 'ignoring a handoff file that is not valid' });
    expect(watch.entries().size).toBe(0);
    expect(existsSync(file)).toBe(true);

    await writeHandoff(dir, announce('ext-1'));
    await eventually(() => latest().has('ext-1'));
  });

  it('drops an entry whose file became invalid', async () => {
    const { watch, latest } = start();
    await watch.ready;
    await writeHandoff(dir, announce('ext-1'));
    await eventually(() => latest().has('ext-1'));
    put('ext-1.json', JSON.stringify({ ...announce('ext-1'), pid: 'not a pid' }));
    await eventually(() => !latest().has('ext-1'));
    expect(watch.entries().size).toBe(0);
  });

  it('marks an entry dead once its process is gone', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    children.push(child);
    const pid = child.pid ?? 0;
    const { watch, latest } = start({ pidCheckMs: 50 });
    await watch.ready;
    await writeHandoff(dir, announce('ext-1', { pid }));
    await eventually(() => latest().get('ext-1')?.alive === true);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    await eventually(() => latest().get('ext-1')?.alive === false);
    expect(existsSync(path.join(dir, 'ext-1.json'))).toBe(true);
  });

  it('drops a removed entry once its process is gone', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    children.push(child);
    const { watch, latest } = start({ pidCheckMs: 50, removeProcessed: true });
    await watch.ready;
    await writeHandoff(dir, announce('ext-1', { pid: child.pid ?? 0 }));
    await eventually(() => latest().has('ext-1'));
    child.kill('SIGKILL');
    await eventually(() => !latest().has('ext-1'));
    expect(watch.entries().size).toBe(0);
  });

  it('never checks the pid of another host', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    children.push(child);
    const pid = child.pid ?? 0;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    const { watch, latest, changes } = start({ pidCheckMs: 20 });
    await watch.ready;
    await writeHandoff(dir, announce('remote-1', { pid, host: `not-${os.hostname()}` }));
    await writeHandoff(dir, announce('local-1', { pid }));
    await eventually(() => latest().has('remote-1') && latest().has('local-1'));
    await pause(200);
    expect(watch.entries().get('remote-1')?.alive).toBe(true);
    // The same dead pid on this host is known dead from the first read.
    expect(watch.entries().get('local-1')?.alive).toBe(false);
    expect(changes.every((entries) => entries.get('remote-1')?.alive !== false)).toBe(true);
  });

  it('runs the pid timer only while a local entry is alive', async () => {
    // An odd period, to tell this timer from any other.
    const pidCheckMs = 4_321;
    const started = vi.spyOn(globalThis, 'setInterval');
    const stopped = vi.spyOn(globalThis, 'clearInterval');
    try {
      const timers = (): number => started.mock.calls.filter((call) => call[1] === pidCheckMs).length;
      const { watch, latest } = start({ pidCheckMs });
      await watch.ready;
      await writeHandoff(dir, announce('remote-1', { host: `not-${os.hostname()}` }));
      await eventually(() => latest().has('remote-1'));
      expect(timers()).toBe(0);
      await writeHandoff(dir, announce('local-1'));
      await eventually(() => latest().has('local-1'));
      expect(timers()).toBe(1);
      const timer = started.mock.results.find((_, i) => started.mock.calls[i]?.[1] === pidCheckMs)?.value as unknown;
      await removeHandoff(dir, 'local-1');
      await eventually(() => !latest().has('local-1'));
      expect(stopped).toHaveBeenCalledWith(timer);
    } finally {
      started.mockRestore();
      stopped.mockRestore();
    }
  });

  it('drops the entry of a file someone else deleted', async () => {
    const { watch, latest } = start();
    await watch.ready;
    await writeHandoff(dir, announce('ext-1'));
    await writeHandoff(dir, announce('ext-2'));
    await eventually(() => latest().size === 2);
    unlinkSync(path.join(dir, 'ext-1.json'));
    await eventually(() => !latest().has('ext-1'));
    await removeHandoff(dir, 'ext-2');
    await eventually(() => latest().size === 0);
    expect(watch.entries().size).toBe(0);
  });

  it('hears nothing after close', async () => {
    const { watch, changes } = start({ pidCheckMs: 20 });
    await watch.ready;
    await writeHandoff(dir, announce('ext-1'));
    await eventually(() => changes.length === 1);
    await watch.close();
    await writeHandoff(dir, announce('ext-2'));
    unlinkSync(path.join(dir, 'ext-1.json'));
    await pause(300);
    expect(changes).toHaveLength(1);
  });
});

describe('writeHandoff', () => {
  it('refuses a file that would not validate', async () => {
    await expect(writeHandoff(dir, announce('../escape'))).rejects.toThrow();
    await expect(writeHandoff(dir, { ...announce('w1'), at: 'yesterday' })).rejects.toThrow();
  });
});
