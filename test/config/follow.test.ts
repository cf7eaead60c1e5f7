/**
 * followConfigFile: live changes handed over and logged, restart changes reported (once,
 * from the start), bad edits logged and ignored. The watcher is a fake that the test
 * fires; the file and the reload are real.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseCliArgs } from '../../src/cli/args.js';
import { followConfigFile, type ConfigFollower, type FollowOptions } from '../../src/config/follow.js';
import { loadRunConfig } from '../../src/config/run-options.js';
import type { ConfigWatchOptions } from '../../src/config/watch.js';
import type { LiveSettings } from '../../src/supervisor/live-settings.js';

let dir: string;
let follower: ConfigFollower | undefined;
afterEach(async () => {
  await follower?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Logged { level: 'info' | 'warn' | 'error'; fields: Record<string, unknown>; message: string }

async function following(initial: string, argv: string[] = []) {
  dir = mkdtempSync(path.join(os.tmpdir(), 'coord-follow-'));
  const file = path.join(dir, 'coord.yaml');
  writeFileSync(file, initial);
  const config = await loadRunConfig(parseCliArgs(argv), { env: {}, cwd: dir });
  const applied: LiveSettings[] = [];
  const logged: Logged[] = [];
  const log = (level: Logged['level']) => (fields: Record<string, unknown>, message: string) => void logged.push({ level, fields, message });
  let watcher: ConfigWatchOptions | undefined;
  follower = followConfigFile(config, {
    reconfigure: (live) => void applied.push(live),
    // pino's log methods are overloaded; the fake takes the one form coord uses.
    logger: { info: log('info'), warn: log('warn'), error: log('error') } as unknown as FollowOptions['logger'],
    watch: (_file, options) => {
      watcher = options;
      return { ready: Promise.resolve(), close: async () => undefined };
    },
  });
  const edit = async (text: string): Promise<void> => {
    const before = logged.length + applied.length;
    writeFileSync(file, text);
    watcher?.onChange();
    // Every reload ends in a log line or an applied change, except one that changes nothing.
    await vi.waitFor(() => expect(logged.length + applied.length).toBeGreaterThan(before), { timeout: 5_000 });
  };
  return { file, applied, logged, edit, watcher: () => watcher };
}

describe('followConfigFile', () => {
  it('hands over the live settings that changed and logs each one', async () => {
    const { applied, logged, edit } = await following('workers: 2\nlogLevel: info\n');
    await edit('workers: 6\nlogLevel: debug\n');
    expect(applied).toEqual([{ workers: 6, logLevel: 'debug' }]);
    expect(logged.map((line) => [line.level, line.message, line.fields['from'], line.fields['to']])).toEqual([
      ['info', 'config: workers changed', 2, 6],
      ['info', 'config: logLevel changed', 'info', 'debug'],
    ]);
    expect(follower?.current().options.workers).toBe(6);
  });

  it('reports a change that needs a restart, once, and not as applied', async () => {
    const { applied, logged, edit } = await following('workers: 2\n');
    await edit('workers: 2\nleaseMs: 30000\n');
    await edit('workers: 3\nleaseMs: 30000\n');
    expect(applied).toEqual([{ workers: 3 }]);
    expect(logged.filter((line) => line.level === 'warn').map((line) => line.message)).toEqual(['config: leaseMs changed; this takes a restart']);
    await edit('workers: 3\n');
    expect(logged.at(-1)?.message).toBe('config: no change is waiting for a restart any more');
  });

  it('rejects an invalid edit with its error logged, keeping the running configuration', async () => {
    const { applied, logged, edit } = await following('workers: 2\n');
    await edit('workers: 0\n');
    expect(applied).toEqual([]);
    expect(logged.at(-1)).toMatchObject({ level: 'error', message: 'config edit rejected; the running configuration is kept' });
    expect(String(logged.at(-1)?.fields['err'])).toContain('coord.yaml:1:10: workers: must be an integer from 1 to 64');
    expect(follower?.current().options.workers).toBe(2);
    await edit('workers: 5\n');
    expect(applied).toEqual([{ workers: 5 }]);
  });

  it('a flag still wins over an edit', async () => {
    const { applied, logged, edit } = await following('workers: 2\nlogLevel: info\n', ['--workers', '3']);
    await edit('workers: 9\nlogLevel: warn\n');
    expect(applied).toEqual([{ logLevel: 'warn' }]);
    expect(logged.map((line) => line.message)).toEqual(['config: logLevel changed']);
  });

  it('logs a removed file (the watcher says so) and keeps going', async () => {
    const { logged, watcher } = await following('workers: 2\n');
    watcher()?.onError(new Error('gone'));
    expect(logged).toEqual([expect.objectContaining({ level: 'error', message: 'config file unreadable; the running configuration is kept' })]);
  });
});
