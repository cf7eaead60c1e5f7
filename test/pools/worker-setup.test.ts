/**
 * A pool's setup in real linked worktrees of real repositories, added the way coord adds
 * them (`git worktree add --detach`), with a `.gitignore` listing what the setup makes.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isCoordError, type CoordError } from '../../src/errors.js';
import { stampFileOf } from '../../src/pools/setup-stamp.js';
import { displayCommand, ensureWorkerSetup, type SetupRun } from '../../src/pools/worker-setup.js';
import { isAlive, makeRepo, type TempRepo } from '../helpers/git-repo.js';

let repo: TempRepo;
let worktree: string;

beforeEach(() => {
  repo = makeRepo({ 'README.md': '# test\n', '.gitignore': 'node_modules/\n.env\n', 'package-lock.json': '{"lockfileVersion":3}\n' });
  worktree = path.join(repo.worktreeRoot, 'w1');
  repo.git('worktree', 'add', '--quiet', '--detach', worktree, 'HEAD');
});
afterEach(() => repo.cleanup());

function setup(overrides: Partial<SetupRun> = {}): SetupRun {
  return {
    workerId: 'w1',
    worktree,
    commands: [['sh', '-c', 'mkdir -p node_modules && echo installed > node_modules/marker'], ['sh', '-c', 'echo KEY=1 > .env']],
    env: {},
    logFile: path.join(repo.stateDir, 'logs', 'setup', 'w1.log'),
    repoRoot: repo.repo,
    baseCommit: repo.git('rev-parse', 'HEAD'),
    ...overrides,
  };
}

async function failure(promise: Promise<unknown>): Promise<CoordError> {
  const error = await promise.then(() => null, (thrown: unknown) => thrown);
  if (!isCoordError(error)) throw new Error(`expected a coord error, got ${String(error)}`);
  return error;
}

describe('ensureWorkerSetup', () => {
  it('runs once, leaves its ignored products and a stamp in the private git dir, then skips', async () => {
    const first = await ensureWorkerSetup(setup());
    expect(first).toMatchObject({ ran: true, reason: 'first' });
    expect(readFileSync(path.join(worktree, 'node_modules', 'marker'), 'utf8')).toBe('installed\n');
    const stampFile = await stampFileOf(worktree);
    expect(stampFile.startsWith(path.join(repo.repo, '.git', 'worktrees'))).toBe(true);
    const stamp = JSON.parse(readFileSync(stampFile, 'utf8')) as { commands: string[][]; lockfiles: Record<string, string> };
    expect(stamp.commands).toEqual(setup().commands);
    expect(stamp.lockfiles).toEqual({ 'package-lock.json': repo.git('rev-parse', 'HEAD:package-lock.json') });

    const log = readFileSync(first.logFile, 'utf8');
    expect(log).toContain("$ sh -c 'echo KEY=1 > .env'\n");
    expect(log).toContain('# exited with code 0');

    expect(await ensureWorkerSetup(setup())).toMatchObject({ ran: false, reason: null });
  });

  it('runs again when the commands change', async () => {
    await ensureWorkerSetup(setup());
    const changed = setup({ commands: [['sh', '-c', 'mkdir -p node_modules && echo v2 > node_modules/marker']] });
    expect(await ensureWorkerSetup(changed)).toMatchObject({ ran: true, reason: 'commands-changed' });
    expect(readFileSync(path.join(worktree, 'node_modules', 'marker'), 'utf8')).toBe('v2\n');
    expect(await ensureWorkerSetup(changed)).toMatchObject({ ran: false });
  });

  it('runs again when a lock file changes at the base commit', async () => {
    await ensureWorkerSetup(setup());
    writeFileSync(path.join(repo.repo, 'package-lock.json'), '{"lockfileVersion":3,"packages":{}}\n');
    repo.git('commit', '--quiet', '-am', 'new lock');
    const next = setup({ baseCommit: repo.git('rev-parse', 'HEAD') });
    expect(await ensureWorkerSetup(next)).toMatchObject({ ran: true, reason: 'lockfile-changed' });
    expect(await ensureWorkerSetup(next)).toMatchObject({ ran: false });
  });

  it('ignores commits that leave the lock files alone', async () => {
    await ensureWorkerSetup(setup());
    writeFileSync(path.join(repo.repo, 'README.md'), '# changed\n');
    repo.git('commit', '--quiet', '-am', 'docs');
    expect(await ensureWorkerSetup(setup({ baseCommit: repo.git('rev-parse', 'HEAD') }))).toMatchObject({ ran: false });
  });

  it('runs again in a worktree rebuilt from scratch', async () => {
    await ensureWorkerSetup(setup());
    repo.git('worktree', 'remove', '--force', worktree);
    repo.git('worktree', 'add', '--quiet', '--detach', worktree, 'HEAD');
    expect(existsSync(path.join(worktree, 'node_modules'))).toBe(false);
    expect(await ensureWorkerSetup(setup())).toMatchObject({ ran: true, reason: 'worktree-rebuilt' });
    expect(existsSync(path.join(worktree, 'node_modules', 'marker'))).toBe(true);
  });

  it('fails on a command that exits non-zero, runs nothing after it and forgets the old stamp', async () => {
    await ensureWorkerSetup(setup());
    const after = path.join(repo.dir, 'after-ran');
    const run = setup({ commands: [['sh', '-c', 'echo boom >&2; exit 3'], ['touch', after]] });
    const error = await failure(ensureWorkerSetup(run));
    expect(error.code).toBe('SETUP_FAILED');
    expect(error.message).toBe(`w1: setup command "sh -c 'echo boom >&2; exit 3'" exited with code 3; its log: ${run.logFile}`);
    expect(error.details).toMatchObject({ workerId: 'w1', command: ['sh', '-c', 'echo boom >&2; exit 3'], exitCode: 3, signal: null, logFile: run.logFile });
    expect(readFileSync(run.logFile, 'utf8')).toContain('boom\n');
    expect(existsSync(after)).toBe(false);
    expect(existsSync(await stampFileOf(worktree))).toBe(false);
    // The earlier setup's stamp is gone: even the old commands run again.
    expect(await ensureWorkerSetup(setup())).toMatchObject({ ran: true, reason: 'first' });
  });

  it('fails on a command that cannot start', async () => {
    const error = await failure(ensureWorkerSetup(setup({ commands: [['coord-no-such-program-here']] })));
    expect(error.code).toBe('SETUP_FAILED');
    expect(error.message).toContain('"coord-no-such-program-here" could not start');
    expect(error.details).toMatchObject({ exitCode: null, command: ['coord-no-such-program-here'] });
  });

  it('fails when the setup leaves a file git does not ignore', async () => {
    const error = await failure(ensureWorkerSetup(setup({ commands: [['sh', '-c', 'echo x > build-output.txt && echo KEY=1 > .env']] })));
    expect(error.code).toBe('SETUP_FAILED');
    expect(error.message).toContain('build-output.txt');
    expect(error.message).toContain('.gitignore');
    expect(error.details.files).toEqual(['build-output.txt']);
    expect(existsSync(await stampFileOf(worktree))).toBe(false);
  });

  it('passes the pool env to the commands', async () => {
    await ensureWorkerSetup(setup({ commands: [['sh', '-c', 'echo "$POOL_VALUE" > .env']], env: { POOL_VALUE: 'from-the-pool' } }));
    expect(readFileSync(path.join(worktree, '.env'), 'utf8')).toBe('from-the-pool\n');
  });

  it('on abort, kills the command with its process group and rejects', async () => {
    const pidFile = path.join(repo.dir, 'sleep.pid');
    const controller = new AbortController();
    // `sh` leads the group; the sleep it starts in the background is only reached through it.
    const done = ensureWorkerSetup(setup({ commands: [['sh', '-c', `sleep 30 & echo $! > ${pidFile}; wait`]], signal: controller.signal }));
    const pid = await waitForPid(pidFile);
    expect(isAlive(pid)).toBe(true);
    controller.abort();
    const error = await failure(done);
    expect(error.code).toBe('SETUP_FAILED');
    expect(error.message).toBe('setup interrupted');
    await waitUntil(() => !isAlive(pid), 1_000);
    expect(existsSync(await stampFileOf(worktree))).toBe(false);
  });
});

describe('displayCommand', () => {
  it('quotes only the words that need it', () => {
    expect(displayCommand(['npm', 'ci'])).toBe('npm ci');
    expect(displayCommand(['sh', '-c', "echo 'hi' there"])).toBe(`sh -c 'echo '\\''hi'\\'' there'`);
  });
});

async function waitForPid(file: string): Promise<number> {
  let pid = 0;
  await waitUntil(() => {
    pid = existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : 0;
    return pid > 0;
  });
  return pid;
}

async function waitUntil(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
