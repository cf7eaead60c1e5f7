/**
 * Storage faults stop coord cleanly: a corrupt SQLite store (at open, or corrupted under a
 * running supervisor), a full disk and a read-only or unusable state directory each end
 * the CLI with one stable code, exit 2, a few lines of stderr, and — mid-run — a drain and a
 * summary. Mounts (a small tmpfs, a read-only tmpfs) need root; without it those tests skip
 * and say why.
 */
import { copyFileSync, existsSync, mkdirSync, openSync, readFileSync, closeSync, fstatSync, ftruncateSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RunSummary } from '../../src/index.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { parseSpecs } from '../../src/supervisor/submission.js';
import { runCli, startCli, type CliRun } from '../helpers/cli.js';
import { makeRepo, type TempRepo } from '../helpers/git-repo.js';
import { mountTmpfs, unmount, whyTmpfsIsImpossible } from '../helpers/tmpfs.js';

let repo: TempRepo | undefined;
const mounts: string[] = [];
const live: CliRun[] = [];
afterEach(() => {
  // A supervisor that did not stop (the bug these tests guard against) must not outlive its test.
  for (const run of live.splice(0)) if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
  while (mounts.length > 0) unmount(mounts.pop() as string);
  repo?.cleanup();
  repo = undefined;
});

const PAGE = 4096;
const cannotMount = whyTmpfsIsImpossible();

function common(r: TempRepo, stateDir = r.stateDir): string[] {
  return ['--workers', '2', '--repo', r.repo, '--state-dir', stateDir, '--worktree-root', r.worktreeRoot, '--once'];
}

/** A store of `count` tasks at `file`, closed (so its WAL is checkpointed away). */
async function makeStore(file: string, count = 2000): Promise<void> {
  const store = new SqliteStore(file);
  await store.open();
  await store.submit(parseSpecs(Array.from({ length: count }, (_, i) => ({ id: `s${i}`, run: ['true'] }))), Date.now());
  await store.close();
}

function truncateToFraction(file: string, fraction: number): void {
  const fd = openSync(file, 'r+');
  const pages = Math.floor(fstatSync(fd).size / PAGE);
  ftruncateSync(fd, Math.max(2, Math.floor(pages * fraction)) * PAGE);
  closeSync(fd);
}

/** Overwrites pages `from`..`to` (1-based) of `file` with garbage, in place. */
function scribble(file: string, from: number, to?: number): void {
  const fd = openSync(file, 'r+');
  const last = to ?? Math.floor(fstatSync(fd).size / PAGE);
  const junk = Buffer.alloc(PAGE, 0xa5);
  for (let page = from; page <= last; page += 1) writeSync(fd, junk, 0, PAGE, (page - 1) * PAGE);
  closeSync(fd);
}

function expectCorruptRefusal(result: { code: number | null; stderr: string }, dbFile: string): void {
  expect(result.code, result.stderr).toBe(2);
  expect(result.stderr).toContain('STORE_CORRUPT');
  expect(result.stderr).toContain(dbFile);
  expect(result.stderr).toContain(`mv ${dbFile} ${dbFile}.corrupt`);
  expect(result.stderr).not.toContain('INTERNAL');
  // One refusal, not a loop of log lines.
  expect(result.stderr.trim().split('\n').length, result.stderr).toBeLessThanOrEqual(6);
}

describe('a corrupt store at start', () => {
  it('a truncated store file (no WAL): exit 2, STORE_CORRUPT, the path and the mv command', { timeout: 60_000 }, async () => {
    repo = makeRepo();
    const dbFile = path.join(repo.stateDir, 'coord.db');
    await makeStore(dbFile);
    expect(existsSync(`${dbFile}-wal`)).toBe(false);
    truncateToFraction(dbFile, 0.5);
    expectCorruptRefusal(await runCli(common(repo)), dbFile);
  });

  it('a truncated store file with its WAL: exit 2, STORE_CORRUPT', { timeout: 60_000 }, async () => {
    repo = makeRepo();
    const built = path.join(repo.dir, 'built.db');
    await makeStore(built);
    // Leave changes in the WAL: copy the files while a connection holds them un-checkpointed.
    const db = new Database(built);
    db.pragma('wal_autocheckpoint = 0');
    db.exec(`UPDATE tasks SET priority = priority + 1 WHERE seq % 7 = 0`);
    mkdirSync(repo.stateDir, { recursive: true });
    const dbFile = path.join(repo.stateDir, 'coord.db');
    copyFileSync(built, dbFile);
    copyFileSync(`${built}-wal`, `${dbFile}-wal`);
    db.close();
    truncateToFraction(dbFile, 0.4);
    const result = await runCli(common(repo));
    expectCorruptRefusal(result, dbFile);
    // The mv command names exactly the store's files that are left (closing may fold the WAL in).
    for (const side of [`${dbFile}-wal`, `${dbFile}-shm`]) expect(result.stderr.includes(`mv ${side} ${side}.corrupt`), side).toBe(existsSync(side));
  });

  it('a malformed page: exit 2, STORE_CORRUPT', { timeout: 60_000 }, async () => {
    repo = makeRepo();
    const dbFile = path.join(repo.stateDir, 'coord.db');
    await makeStore(dbFile);
    scribble(dbFile, 4, 6);
    expectCorruptRefusal(await runCli(common(repo)), dbFile);
  });
});

describe('a store corrupted while tasks run', () => {
  it('drains, stops with STORE_CORRUPT (exit 2) and still writes the summary', { timeout: 120_000 }, async () => {
    repo = makeRepo();
    const marks = path.join(repo.dir, 'marks');
    writeFileSync(marks, '');
    const tasks = Array.from({ length: 30 }, (_, i) => ({ id: `t${i}`, run: ['sh', '-c', `echo x >> ${marks}; sleep 0.3`] }));
    const file = path.join(repo.dir, 'tasks.json');
    writeFileSync(file, JSON.stringify({ tasks }));
    const summaryFile = path.join(repo.dir, 'run.json');
    const dbFile = path.join(repo.stateDir, 'coord.db');
    const run = startCli([...common(repo), '--tasks', file, '--summary', summaryFile]);
    live.push(run);
    await expect
      .poll(() => readFileSync(marks, 'utf8').split('\n').length - 1, { timeout: 20_000, interval: 25, message: 'three tasks to start' })
      .toBeGreaterThanOrEqual(3);

    // Move everything into the main file, scribble over every page but the first, then commit
    // one page-1 change from this connection: the supervisor's connection sees another
    // writer, drops its page cache, and its next read meets the garbage.
    const db = new Database(dbFile, { timeout: 5_000 });
    // A checkpoint is blocked (busy) while the supervisor is mid-transaction: try until one is not.
    await vi.waitFor(
      () => {
        const [row] = db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>;
        if (row?.busy !== 0) throw new Error('timed out waiting for a WAL checkpoint the supervisor does not block');
      },
      { timeout: 5_000, interval: 20 },
    );
    scribble(dbFile, 2);
    db.pragma('user_version = 7');
    db.close();

    const { code } = await run.exit;
    const stderr = run.stderr();
    expect(code, stderr).toBe(2);
    expect(stderr).toContain('STORE_CORRUPT');
    expect(stderr).toContain(dbFile);
    expect(stderr.split('\n').filter((line) => line.includes('SQLITE_CORRUPT') || line.includes('malformed')).length, stderr).toBeLessThanOrEqual(4);
    const summary = JSON.parse(readFileSync(summaryFile, 'utf8')) as RunSummary;
    expect(summary.coordinator.state).toBe('failed');
    expect(summary.coordinator.error?.code).toBe('STORE_CORRUPT');
    // Nothing is left running: every worker was stopped.
    expect(summary.workers.every((w) => w.state !== 'busy' && w.state !== 'idle'), JSON.stringify(summary.workers)).toBe(true);
  });
});

describe('the state directory', () => {
  it('a state dir under a regular file (ENOTDIR): exit 2, STATE_DIR_UNWRITABLE', { timeout: 60_000 }, async () => {
    repo = makeRepo();
    const blocker = path.join(repo.dir, 'not-a-dir');
    writeFileSync(blocker, '');
    const result = await runCli(common(repo, path.join(blocker, 'state')));
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain('STATE_DIR_UNWRITABLE');
    expect(result.stderr).toContain(blocker);
    expect(result.stderr).not.toContain('INTERNAL');
  });

  it('a read-only state dir (read-only tmpfs), existing or missing: exit 2, STATE_DIR_UNWRITABLE', { timeout: 60_000 }, async (ctx) => {
    if (cannotMount) ctx.skip(cannotMount);
    repo = makeRepo();
    mountTmpfs(repo.stateDir, 'ro,size=64k');
    mounts.push(repo.stateDir);
    for (const stateDir of [repo.stateDir, path.join(repo.stateDir, 'missing', 'deeper')]) {
      const result = await runCli(common(repo, stateDir));
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toContain('STATE_DIR_UNWRITABLE');
      expect(result.stderr).toContain('EROFS');
      expect(result.stderr).not.toContain('INTERNAL');
    }
  });

  it('a full disk at start (ENOSPC): exit 2, DISK_FULL', { timeout: 60_000 }, async (ctx) => {
    if (cannotMount) ctx.skip(cannotMount);
    repo = makeRepo();
    mountTmpfs(repo.stateDir, 'size=128k');
    mounts.push(repo.stateDir);
    try {
      writeFileSync(path.join(repo.stateDir, 'ballast'), Buffer.alloc(1024 * 1024));
    } catch {
      // ENOSPC: the disk is now full, as intended
    }
    const result = await runCli(common(repo));
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain('DISK_FULL');
    expect(result.stderr).not.toContain('INTERNAL');
    expect(result.stderr.trim().split('\n').length, result.stderr).toBeLessThanOrEqual(6);
  });

  it('a disk that fills up mid-run (task logs, store, log file): a drain, DISK_FULL, exit 2 and a summary', { timeout: 120_000 }, async (ctx) => {
    if (cannotMount) ctx.skip(cannotMount);
    repo = makeRepo();
    mountTmpfs(repo.stateDir, 'size=1m');
    mounts.push(repo.stateDir);
    // Each task prints ~200 kB into its task log in the state dir: a few fill the disk.
    const tasks = Array.from({ length: 30 }, (_, i) => ({ id: `t${i}`, run: ['sh', '-c', 'yes xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx | head -c 200000; sleep 0.05'] }));
    const file = path.join(repo.dir, 'tasks.json');
    writeFileSync(file, JSON.stringify({ tasks }));
    const summaryFile = path.join(repo.dir, 'run.json');
    const run = startCli([...common(repo), '--tasks', file, '--summary', summaryFile]);
    live.push(run);
    const { code, signal } = await run.exit;
    const stderr = run.stderr();
    expect(signal, stderr).toBeNull();
    expect(code, stderr).toBe(2);
    expect(stderr).toContain('DISK_FULL');
    expect(stderr).not.toContain('Unhandled');
    const summary = JSON.parse(readFileSync(summaryFile, 'utf8')) as RunSummary;
    expect(summary.coordinator.state).toBe('failed');
    expect(summary.coordinator.error?.code).toBe('DISK_FULL');
    expect(summary.tasks.some((t) => t.status === 'complete'), JSON.stringify(summary.counts)).toBe(true);
  });
});
