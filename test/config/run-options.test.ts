/**
 * A run's configuration from its layers: flags over COORD_* over the config file over the
 * defaults (each pair), paths relative to where they were written, which file is used (a
 * real git repository for the default coord.yaml), and the sections' warnings.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseCliArgs } from '../../src/cli/args.js';
import { loadRunConfig, reloadConfig } from '../../src/config/run-options.js';
import { isCoordError } from '../../src/errors.js';
import { makeRepo, type TempRepo } from '../helpers/git-repo.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** A scratch directory (not a git repository). */
function scratch(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'coord-config-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function repository(): TempRepo {
  const repo = makeRepo();
  cleanups.push(repo.cleanup);
  return repo;
}

function write(file: string, text: string): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
}

const load = (argv: string[], cwd: string, env: Record<string, string> = {}) => loadRunConfig(parseCliArgs(argv), { env, cwd });

async function loadError(argv: string[], cwd: string, env: Record<string, string> = {}): Promise<{ code: string; message: string }> {
  try {
    await load(argv, cwd, env);
  } catch (error) {
    if (isCoordError(error)) return error;
    throw error;
  }
  throw new Error('expected a CoordError');
}

describe('layers: flags over env over file over defaults', () => {
  it('with nothing set, the options hold only the repository: createSupervisor() applies the defaults', async () => {
    const dir = scratch();
    const config = await load([], dir);
    expect(config).toMatchObject({ options: { repo: dir }, file: null, http: null, sections: {}, warnings: [] });
    expect(Object.keys(config.options)).toEqual(['repo']);
  });

  it('the file over the defaults', async () => {
    const dir = scratch();
    write(path.join(dir, 'coord.yaml'), 'workers: 3\nlogLevel: debug\nallowDirty: true\nhttp: 127.0.0.1:0\n');
    const config = await load([], dir);
    expect(config.file).toBe(path.join(dir, 'coord.yaml'));
    expect(config.options).toEqual({ repo: dir, workers: 3, logLevel: 'debug', allowDirty: true });
    expect(config.http).toBe('127.0.0.1:0');
  });

  it('the environment over the file', async () => {
    const dir = scratch();
    write(path.join(dir, 'coord.yaml'), 'workers: 3\nlogLevel: debug\nhttp: 127.0.0.1:0\n');
    const config = await load([], dir, { COORD_WORKERS: '5', COORD_HTTP: '127.0.0.1:9000' });
    expect(config.options).toMatchObject({ workers: 5, logLevel: 'debug' });
    expect(config.http).toBe('127.0.0.1:9000');
  });

  it('the flags over the environment', async () => {
    const dir = scratch();
    const config = await load(['--workers', '7', '--http', '[::1]:0'], dir, { COORD_WORKERS: '5', COORD_LOG_LEVEL: 'warn', COORD_HTTP: '127.0.0.1:9000' });
    expect(config.options).toMatchObject({ workers: 7, logLevel: 'warn' });
    expect(config.http).toBe('[::1]:0');
  });

  it('the flags over the file, and what a flag leaves out shows the file through', async () => {
    const dir = scratch();
    write(path.join(dir, 'coord.yaml'), 'workers: 3\nlogLevel: debug\nallowDirty: true\nremote: upstream\n');
    const config = await load(['--workers', '7', '--remote', 'none'], dir);
    expect(config.options).toEqual({ repo: dir, workers: 7, logLevel: 'debug', allowDirty: true, remote: false });
  });

  it('an environment variable over a default, without a file', async () => {
    const dir = scratch();
    expect((await load([], dir, { COORD_MAX_ATTEMPTS: '1', COORD_DEFAULT_TIMEOUT_MS: '60000' })).options)
      .toEqual({ repo: dir, maxAttempts: 1, defaultTimeoutMs: 60_000 });
  });

  it('keeps only COORD_* variables as its inputs', async () => {
    const dir = scratch();
    const config = await load([], dir, { COORD_WORKERS: '2', PGPASSWORD: 'secret', HOME: '/root' });
    expect(config.inputs.env).toEqual({ COORD_WORKERS: '2' });
  });

  it('a bad COORD_* value stops the load, naming the variable', async () => {
    expect(await loadError([], scratch(), { COORD_HEARTBEAT_MS: '10' }))
      .toMatchObject({ code: 'CONFIG_INVALID', message: 'COORD_HEARTBEAT_MS: must be an integer of at least 50, not "10"' });
  });
});

describe('paths', () => {
  it('in the file: relative to the file', async () => {
    const dir = scratch();
    const file = write(path.join(dir, 'ci', 'coord.yaml'), 'repo: ../app\nstateDir: state\nworktreeRoot: ../trees\nstore: sqlite:db/coord.db\n');
    const config = await load(['--config', 'ci/coord.yaml'], dir);
    expect(config.file).toBe(file);
    expect(config.options).toEqual({
      repo: path.join(dir, 'app'),
      stateDir: path.join(dir, 'ci', 'state'),
      worktreeRoot: path.join(dir, 'trees'),
      store: `sqlite:${path.join(dir, 'ci', 'db', 'coord.db')}`,
    });
  });

  it('in flags and COORD_*: relative to the working directory', async () => {
    const dir = scratch();
    const config = await load(['--state-dir', 'st', '--store', 'sqlite:q.db'], dir, { COORD_WORKTREE_ROOT: 'wt' });
    expect(config.options).toMatchObject({
      stateDir: path.join(dir, 'st'), worktreeRoot: path.join(dir, 'wt'), store: `sqlite:${path.join(dir, 'q.db')}`,
    });
    expect((await load(['--store', 'postgres://coord@db/coord?schema=ci'], dir)).options.store).toBe('postgres://coord@db/coord?schema=ci');
  });
});

describe('which config file', () => {
  it('coord.yaml at the root of the git repository, found from a directory inside it', async () => {
    const repo = repository();
    const file = write(path.join(repo.repo, 'coord.yaml'), 'workers: 2\n');
    const inside = path.join(repo.repo, 'src', 'deep');
    mkdirSync(inside, { recursive: true });
    expect((await load([], inside)).file).toBe(file);
    // --repo names the repository: its coord.yaml, wherever coord is started.
    const config = await load(['--repo', repo.repo], scratch());
    expect(config.file).toBe(file);
    expect(config.options).toEqual({ repo: repo.repo, workers: 2 });
  });

  it('none when the repository has none; a plain directory is its own root', async () => {
    expect((await load([], repository().repo)).file).toBeNull();
    const plain = scratch();
    const file = write(path.join(plain, 'coord.yaml'), 'workers: 2\n');
    expect((await load(['--repo', plain], scratch())).file).toBe(file);
  });

  it('--config over COORD_CONFIG over the default', async () => {
    const dir = scratch();
    write(path.join(dir, 'coord.yaml'), 'workers: 2\n');
    write(path.join(dir, 'env.yaml'), 'workers: 3\n');
    write(path.join(dir, 'flag.json'), '{"workers": 4}');
    expect((await load([], dir, { COORD_CONFIG: 'env.yaml' })).options.workers).toBe(3);
    expect((await load(['--config', 'flag.json'], dir, { COORD_CONFIG: 'env.yaml' })).options.workers).toBe(4);
  });

  it('a named file that does not exist is an error; a missing default is not', async () => {
    const dir = scratch();
    expect(await loadError(['--config', 'nope.yaml'], dir)).toMatchObject({ code: 'CONFIG_INVALID', message: 'nope.yaml: no such config file (--config)' });
    expect(await loadError([], dir, { COORD_CONFIG: 'gone.yaml' })).toMatchObject({ message: 'gone.yaml: no such config file (COORD_CONFIG)' });
  });

  it('a bad file is named as the user would: relative to the working directory', async () => {
    const dir = scratch();
    write(path.join(dir, 'coord.yaml'), '# settings\nworker: 3\n');
    expect(await loadError([], dir)).toMatchObject({ code: 'CONFIG_INVALID', message: 'coord.yaml:2:1: unknown key "worker" (did you mean "workers"?)' });
  });
});

describe('the config file\'s sections', () => {
  it('rate limits, budgets and the merge queue become supervisor options, validated', async () => {
    const dir = scratch();
    write(path.join(dir, 'coord.yaml'), 'workers: 2\nbudgets: {globalUsd: 10}\nmerge: {target: main, test: [npm, test]}\nrateLimits: {anthropic: {maxConcurrent: 2}}\n');
    const config = await load([], dir);
    expect(config.warnings).toEqual([]);
    expect(config.options).toEqual({
      repo: dir, workers: 2, budgets: { globalUsd: 10, warnAt: 0.8 }, rateLimits: { anthropic: { maxConcurrent: 2 } },
      merge: { target: 'main', test: ['npm', 'test'], batch: 4, mode: 'merge', onFailure: 'report' },
    });
  });

  it('pools become a supervisor option, and a worker count beside them is said to be unused', async () => {
    const dir = scratch();
    write(path.join(dir, 'coord.yaml'), 'workers: 2\npools: [{id: gpu, workers: 1}]\n');
    const config = await load([], dir);
    const pool = { id: 'gpu', workers: 1, capabilities: [], env: {}, minReady: 1 };
    expect(config.sections).toEqual({ pools: [pool] });
    expect(config.warnings).toEqual(['coord.yaml: pools are declared, so the worker count given (2) is not used: each pool has its own']);
    expect(config.options).toEqual({ repo: dir, workers: 2, pools: [pool] });
  });
});

describe('reloadConfig', () => {
  it('re-reads the same file with the same flags and environment', async () => {
    const dir = scratch();
    const file = write(path.join(dir, 'coord.yaml'), 'workers: 2\nlogLevel: debug\n');
    const first = await load(['--log-level', 'warn'], dir, { COORD_MAX_ATTEMPTS: '2' });
    write(file, 'workers: 6\nlogLevel: trace\n');
    const second = await reloadConfig(first);
    expect(second.file).toBe(file);
    expect(second.options).toEqual({ repo: dir, workers: 6, logLevel: 'warn', maxAttempts: 2 });
  });

  it('refuses a bad edit or a removed file, leaving the caller its configuration', async () => {
    const dir = scratch();
    const file = write(path.join(dir, 'coord.yaml'), 'workers: 2\n');
    const first = await load([], dir);
    write(file, 'workers: 0\n');
    await expect(reloadConfig(first)).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: 'coord.yaml:1:10: workers: must be an integer from 1 to 64' });
    rmSync(file);
    await expect(reloadConfig(first)).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: 'coord.yaml: no such config file' });
    expect(first.options.workers).toBe(2);
  });
});
