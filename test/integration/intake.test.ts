/**
 * File-drop intake as an operator wires it: real daemons on real folders. A task file
 * renamed into the inbox runs and its result appears in results/; one written in place
 * slowly is read only once complete; an invalid one lands in rejected/ with the line of its
 * error; a file dropped while no daemon ran is picked up at the start; a dead task writes
 * dlq/ and its redrive removes it; heartbeat files advance; two daemons sharing one inbox
 * take each file once.
 */
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { makeRepo, type TempRepo } from '../helpers/git-repo.js';
import { killDaemons, startDaemon, stateOf } from '../helpers/daemon.js';

const repos: TempRepo[] = [];

afterEach(async () => {
  await killDaemons();
  for (const repo of repos.splice(0)) repo.cleanup();
});

const where = stateOf;
const coord = (repo: TempRepo, ...args: string[]) => runCli(args, { cwd: repo.dir });

function newRepo(): TempRepo {
  const repo = makeRepo();
  repos.push(repo);
  return repo;
}

const startTwoWorkers = (repo: TempRepo, ...flags: string[]) => startDaemon(repo, '--workers', '2', ...flags);

/** Writes `text` elsewhere, then renames it into `dir` as `name`: how a file should be dropped. */
function drop(dir: string, name: string, text: string): void {
  const staging = path.join(path.dirname(dir), `.staging-${name}`);
  writeFileSync(staging, text);
  renameSync(staging, path.join(dir, name));
}

const taskFile = (tasks: unknown[]): string => JSON.stringify({ tasks }, null, 2);
const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;

describe('the inbox', () => {
  it('runs dropped files, waits for a slow writer, rejects a bad file with its line, and writes results, dead letters and heartbeats', async () => {
    const repo = newRepo();
    const inbox = path.join(repo.stateDir, 'inbox');
    mkdirSync(inbox, { recursive: true });
    // Dropped while no daemon runs: picked up at the start.
    drop(inbox, 'early.json', taskFile([{ id: 'early', run: ['sh', '-c', 'echo early > early.txt'] }]));
    await startTwoWorkers(repo, '--heartbeat-ms', '200');

    const results = path.join(repo.stateDir, 'results');
    await vi.waitFor(() => expect(readJson<{ status: string }>(path.join(results, 'early.json')).status).toBe('complete'), { timeout: 20_000, interval: 50 });
    expect(existsSync(path.join(inbox, 'accepted', 'early.json'))).toBe(true);
    expect(existsSync(path.join(inbox, 'early.json'))).toBe(false);

    // Renamed in: submitted, run, its result is the summary's task object.
    drop(inbox, 'pair.yaml', 'tasks:\n  - id: first\n    run: [sh, -c, "echo 1 > one.txt"]\n  - id: second\n    deps: [first]\n    run: [sh, -c, "test -f one.txt"]\n');
    await vi.waitFor(() => expect(readJson<{ status: string }>(path.join(results, 'second.json')).status).toBe('complete'), { timeout: 20_000, interval: 50 });
    const second = readJson<Record<string, unknown>>(path.join(results, 'second.json'));
    expect(second).toMatchObject({ id: 'second', status: 'complete', branch: 'coord/second', attempts: 1, exitCode: 0, error: null });
    const task = JSON.parse((await coord(repo, 'task', 'second', '--json', ...where(repo))).stdout) as Record<string, unknown>;
    expect(second['commit']).toBe(task['commit']);

    // Written in place, slowly: read only once whole (one submission with all three tasks).
    const slow = path.join(inbox, 'slow.json');
    const text = taskFile([{ id: 'slow-a', run: ['true'] }, { id: 'slow-b', run: ['true'] }, { id: 'slow-c', run: ['true'] }]);
    const fd = openSync(slow, 'w');
    const chunks = [text.slice(0, 30), text.slice(30, 80), text.slice(80)];
    for (const chunk of chunks.slice(0, -1)) {
      writeSync(fd, chunk);
      // The pause is the writer's, not a proof: the assertions below wait for positive signals.
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    writeSync(fd, chunks.at(-1) as string);
    closeSync(fd);
    await vi.waitFor(() => expect(existsSync(path.join(inbox, 'accepted', 'slow.json'))).toBe(true), { timeout: 20_000, interval: 50 });
    expect(readdirSync(path.join(inbox, 'rejected')).filter((name) => name.startsWith('slow'))).toEqual([]);
    await vi.waitFor(() => {
      for (const id of ['slow-a', 'slow-b', 'slow-c']) expect(readJson<{ status: string }>(path.join(results, `${id}.json`)).status).toBe('complete');
    }, { timeout: 20_000, interval: 50 });

    // Invalid: rejected, with the line of the error, and nothing of it submitted.
    drop(inbox, 'bad.yaml', 'tasks:\n  - id: fine\n    run: ["true"]\n  - id: broken\n    run: 5\n');
    const errorFile = path.join(inbox, 'rejected', 'bad.yaml.error.json');
    await vi.waitFor(() => expect(existsSync(errorFile)).toBe(true), { timeout: 20_000, interval: 50 });
    expect(existsSync(path.join(inbox, 'rejected', 'bad.yaml'))).toBe(true);
    expect(readJson<Record<string, unknown>>(errorFile)).toEqual({ code: 'TASK_INVALID', message: expect.stringContaining('run'), file: 'bad.yaml', line: 5, column: expect.any(Number) });
    expect((await coord(repo, 'task', 'fine', ...where(repo))).code).not.toBe(0);

    // A task that goes dead writes its dead letter; once the cause is fixed, a redrive removes it.
    const fix = path.join(repo.dir, 'fixed');
    drop(inbox, 'flaky.json', taskFile([{ id: 'flaky', run: ['sh', '-c', `test -f ${fix}`], maxAttempts: 1 }]));
    const letter = path.join(repo.stateDir, 'dlq', 'flaky.json');
    await vi.waitFor(() => expect(existsSync(letter)).toBe(true), { timeout: 20_000, interval: 50 });
    const dead = readJson<{ taskId: string; reason: { code: string }; attempts: unknown[]; task: { status: string } }>(letter);
    expect(dead).toMatchObject({ taskId: 'flaky', reason: { code: 'TASK_EXIT_NONZERO' }, task: { status: 'dead' } });
    expect(dead.attempts).toHaveLength(1);
    writeFileSync(fix, '');
    expect((await coord(repo, 'redrive', 'flaky', ...where(repo))).code).toBe(0);
    await vi.waitFor(() => {
      expect(existsSync(letter)).toBe(false);
      expect(readJson<{ status: string }>(path.join(results, 'flaky.json')).status).toBe('complete');
    }, { timeout: 20_000, interval: 50 });

    // Heartbeat files: one per worker, advancing.
    const beat = path.join(repo.stateDir, 'heartbeats', 'w1.json');
    const first = readJson<{ workerId: string; pid: number; state: string; task: string | null; at: string; restarts: number }>(beat);
    expect(first).toMatchObject({ workerId: 'w1', pid: expect.any(Number), state: expect.any(String), restarts: 0 });
    await vi.waitFor(() => expect(Date.parse(readJson<{ at: string }>(beat).at)).toBeGreaterThan(Date.parse(first.at)), { timeout: 10_000, interval: 50 });
  }, 120_000);

  it('two daemons sharing one inbox take each file once', async () => {
    const one = newRepo();
    const two = newRepo();
    const inbox = path.join(one.dir, 'shared-inbox');
    mkdirSync(inbox);
    await startTwoWorkers(one, '--inbox', inbox, '--node-id', 'host-one');
    await startTwoWorkers(two, '--inbox', inbox, '--node-id', 'host-two');
    const count = 24;
    for (let i = 0; i < count; i += 1) drop(inbox, `job-${i}.json`, taskFile([{ id: `job-${i}`, run: ['true'] }]));
    await vi.waitFor(() => expect(readdirSync(path.join(inbox, 'accepted')).sort()).toHaveLength(count), { timeout: 30_000, interval: 100 });
    expect(readdirSync(path.join(inbox, 'accepted')).sort()).toEqual(Array.from({ length: count }, (_, i) => `job-${i}.json`).sort());
    expect(existsSync(path.join(inbox, 'rejected')) ? readdirSync(path.join(inbox, 'rejected')) : []).toEqual([]);
    const ran = async (repo: TempRepo): Promise<string[]> => {
      const tasks = JSON.parse((await coord(repo, 'tasks', '--json', ...where(repo))).stdout) as Array<{ id: string }>;
      return tasks.map((t) => t.id);
    };
    await vi.waitFor(async () => {
      const [a, b] = [await ran(one), await ran(two)];
      expect([...a, ...b].sort()).toEqual(Array.from({ length: count }, (_, i) => `job-${i}`).sort());
    }, { timeout: 30_000, interval: 200 });
  }, 90_000);
});
