/**
 * Worker pools as an operator runs them: a real daemon with four pools declared in its
 * coord.yaml — one plain, one whose setup makes a file in each worktree (held at a gate the
 * test opens), one whose setup fails, and one with no workers of its own that only handoff
 * files fill — followed through `GET /pools`, `GET /pools/{id}/status`, `coord pools`, the
 * daemon status and the handoff folder. Real processes, real git worktrees, real files, real HTTP.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { makeRepo, type TempRepo } from '../helpers/git-repo.js';
import { killDaemons, startDaemon, stateOf } from '../helpers/daemon.js';

let repo: TempRepo;
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  await killDaemons();
  repo?.cleanup();
});

const where = (): string[] => stateOf(repo);
const coord = (...args: string[]) => runCli(args, { cwd: repo.dir });

interface PoolStatus { id: string; ready: boolean; workers: { total: number; ready: number; busy: number }; capabilities: string[]; since: string }

const GATE = 'setup-gate';
const POOLS_YAML = (gate: string) => `
pools:
  - { id: plain, workers: 1 }
  - id: built
    workers: 1
    capabilities: [built]
    env: { BUILT_BY: coord }
    setup:
      - [sh, -c, 'while [ ! -f ${gate} ]; do sleep 0.05; done']
      - [sh, -c, 'echo "$BUILT_BY" > .setup-done']
  - { id: broken, workers: 1, setup: [sh, -c, 'echo the lock file is stale >&2; exit 4'] }
  - { id: external, workers: 0, capabilities: [gpu], minReady: 1 }
`;

describe('worker pools', () => {
  it('a setup gates its pool, a failing one keeps it out of service, handoff files announce capacity, and every surface agrees', async () => {
    repo = makeRepo({ 'README.md': '# pools\n', '.gitignore': '.setup-done\n' });
    const gate = path.join(repo.dir, GATE);
    writeFileSync(path.join(repo.repo, 'coord.yaml'), POOLS_YAML(gate));
    repo.git('add', 'coord.yaml');
    repo.git('commit', '--quiet', '-m', 'pools');
    const daemon = await startDaemon(repo, '--http', '127.0.0.1:0');

    // The plain pool is ready; the built one's worker is in its setup, held at the gate.
    await vi.waitFor(async () => {
      const { body } = await daemon.get<PoolStatus[]>('/pools');
      expect(body.map((p) => [p.id, p.ready])).toEqual([['plain', true], ['built', false], ['broken', false], ['external', false]]);
      const status = await coord('daemon', 'status', ...where());
      const workers = (JSON.parse(status.stdout) as { workers: Array<{ id: string; pool: string; state: string; error?: { code: string; logFile: string } }> }).workers;
      expect(workers.find((w) => w.pool === 'built')?.state).toBe('setup');
      expect(workers.find((w) => w.pool === 'broken')?.state).toBe('setup-failed');
    }, { timeout: 20_000, interval: 100 });

    const built = await daemon.get<PoolStatus>('/pools/built/status');
    expect(built.status).toBe(200);
    expect(built.body).toMatchObject({ id: 'built', ready: false, workers: { total: 1, ready: 0, busy: 0 }, capabilities: ['built'] });
    expect(Date.parse(built.body.since)).not.toBeNaN();
    const worktree = path.join(repo.worktreeRoot, 'w2');
    expect(existsSync(path.join(worktree, '.setup-done'))).toBe(false);

    // The failing setup: SETUP_FAILED with its log, which says why.
    const status = JSON.parse((await coord('daemon', 'status', ...where())).stdout) as { workers: Array<{ pool: string; error?: { code: string; message: string; logFile: string } }> };
    const broken = status.workers.find((w) => w.pool === 'broken');
    expect(broken?.error?.code).toBe('SETUP_FAILED');
    expect(broken?.error?.message).toContain(broken?.error?.logFile);
    expect(readFileSync(broken?.error?.logFile ?? '', 'utf8')).toContain('the lock file is stale');

    // Opening the gate: the built pool becomes ready only once its setup made the file.
    writeFileSync(gate, '');
    await vi.waitFor(async () => expect((await daemon.get<PoolStatus>('/pools/built/status')).body.ready).toBe(true), { timeout: 20_000, interval: 50 });
    expect(readFileSync(path.join(worktree, '.setup-done'), 'utf8')).toBe('coord\n');
    const ready = await daemon.get<PoolStatus>('/pools/built/status');
    expect(ready.body.workers).toEqual({ total: 1, ready: 1, busy: 0 });
    expect(Date.parse(ready.body.since)).toBeGreaterThanOrEqual(Date.parse(built.body.since));

    // coord's own workers wrote their handoff files.
    const handoffDir = path.join(repo.stateDir, 'handoff');
    await vi.waitFor(() => {
      const own = JSON.parse(readFileSync(path.join(handoffDir, 'w2.json'), 'utf8')) as Record<string, unknown>;
      expect(own).toMatchObject({ workerId: 'w2', pool: 'built', ready: true, worktree, pid: expect.any(Number) });
    });

    // An external provisioner announces a worker it started: the external pool is ready while its process lives.
    const provisioned = spawn('sleep', ['120'], { stdio: 'ignore' });
    children.push(provisioned);
    const announcement = { workerId: 'gpu-box-1', pool: 'external', ready: true, pid: provisioned.pid, worktree: null, at: new Date().toISOString() };
    writeFileSync(path.join(repo.dir, 'gpu-box-1.json'), JSON.stringify(announcement));
    renameSync(path.join(repo.dir, 'gpu-box-1.json'), path.join(handoffDir, 'gpu-box-1.json'));
    await vi.waitFor(async () => {
      expect((await daemon.get<PoolStatus>('/pools/external/status')).body).toMatchObject({ ready: true, workers: { total: 1, ready: 1, busy: 0 }, capabilities: ['gpu'] });
    }, { timeout: 10_000, interval: 50 });
    provisioned.kill('SIGKILL');
    await vi.waitFor(async () => expect((await daemon.get<PoolStatus>('/pools/external/status')).body).toMatchObject({ ready: false, workers: { total: 0, ready: 0 } }), { timeout: 10_000, interval: 50 });

    // `remove: true`: processed, deleted, and counting while its process lives.
    const second = spawn('sleep', ['120'], { stdio: 'ignore' });
    children.push(second);
    writeFileSync(path.join(repo.dir, 'gpu-box-2.json'), JSON.stringify({ ...announcement, workerId: 'gpu-box-2', pid: second.pid, remove: true }));
    renameSync(path.join(repo.dir, 'gpu-box-2.json'), path.join(handoffDir, 'gpu-box-2.json'));
    await vi.waitFor(async () => {
      expect(existsSync(path.join(handoffDir, 'gpu-box-2.json'))).toBe(false);
      expect((await daemon.get<PoolStatus>('/pools/external/status')).body.ready).toBe(true);
    }, { timeout: 10_000, interval: 50 });

    // A task for the built pool's capability runs there; the CLI says what HTTP says.
    const tasks = path.join(repo.dir, 'tasks.json');
    writeFileSync(tasks, JSON.stringify({ tasks: [{ id: 'needs-built', needs: ['built'], run: ['sh', '-c', 'cat .setup-done > seen.txt'] }] }));
    expect((await coord('submit', tasks, ...where())).code).toBe(0);
    await vi.waitFor(async () => {
      const task = JSON.parse((await coord('task', 'needs-built', '--json', ...where())).stdout) as { status: string; worker: string };
      expect(task).toMatchObject({ status: 'complete', worker: 'w2' });
    }, { timeout: 20_000, interval: 100 });

    const listed = await coord('pools', ...where());
    expect(listed.code).toBe(0);
    expect(listed.stdout.split('\n').filter(Boolean).map((line) => line.split(/\s+/).slice(0, 2).join(' '))).toEqual(['plain ready', 'built ready', 'broken not', 'external ready']);
    const one = await coord('pools', 'broken', '--json', ...where());
    expect(one.code).toBe(1);
    expect(JSON.parse(one.stdout)).toMatchObject({ id: 'broken', ready: false, workers: { total: 1, ready: 0, busy: 0 } });
    const missing = await daemon.get<{ error: { code: string } }>('/pools/nope/status');
    expect(missing).toMatchObject({ status: 404, body: { error: { code: 'POOL_NOT_FOUND' } } });
    expect((await coord('pools', 'nope', ...where())).code).toBe(2);

    // A stop takes coord's own handoff files back; the external one it was told to keep stays.
    expect((await coord('daemon', 'stop', ...where())).code).toBe(0);
    expect(existsSync(path.join(handoffDir, 'w2.json'))).toBe(false);
    expect(existsSync(path.join(handoffDir, 'gpu-box-1.json'))).toBe(true);
  }, 90_000);

  it('a setup runs once per worktree: a restart finds it done, a changed command runs it again', async () => {
    repo = makeRepo({ 'README.md': '# pools\n', '.gitignore': 'count\n' });
    const config = (command: string) => `pools:\n  - { id: p, workers: 1, setup: [sh, -c, '${command}'] }\n`;
    writeFileSync(path.join(repo.dir, 'coord.yaml'), config('echo x >> count'));
    const run = async (): Promise<void> => {
      const tasks = path.join(repo.dir, 'tasks.json');
      writeFileSync(tasks, JSON.stringify({ tasks: [{ id: `t${Date.now()}`, run: ['true'] }] }));
      const done = await coord('--config', path.join(repo.dir, 'coord.yaml'), ...where(), '--worktree-root', repo.worktreeRoot, '--tasks', tasks, '--once');
      expect(done.code, done.stderr).toBe(0);
    };
    const count = (): string => readFileSync(path.join(repo.worktreeRoot, 'w1', 'count'), 'utf8');
    await run();
    expect(count()).toBe('x\n');
    await run();
    expect(count()).toBe('x\n');
    writeFileSync(path.join(repo.dir, 'coord.yaml'), config('echo y >> count'));
    await run();
    expect(count()).toBe('x\ny\n');
  }, 60_000);
});
