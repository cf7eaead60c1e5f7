/**
 * The daemon as operators use it: started detached in a temporary repository, asked for its
 * status, refused a second time, killed with -9 and started again on its stale socket (the
 * stored tasks resume), driven through the socket (a malformed line on a connection that
 * keeps working), the CLI and HTTP (token, validation, /metrics, /events), and stopped with
 * nothing left behind. Real processes, real sockets, real HTTP, real git, the real SQLite store.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { runCli, startCli } from '../helpers/cli.js';
import { isAlive, makeRepo, type TempRepo } from '../helpers/git-repo.js';

let repo: TempRepo;
const started: number[] = [];

afterEach(async () => {
  for (const pid of started.splice(0)) {
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    await vi.waitFor(() => expect(isAlive(pid)).toBe(false), { timeout: 10_000 });
  }
  repo?.cleanup();
});

const where = (): string[] => ['--repo', repo.repo, '--state-dir', repo.stateDir];
const coord = (...args: string[]) => runCli(args, { cwd: repo.dir });
const socketPath = (): string => path.join(repo.stateDir, 'coord.sock');

async function startDaemon(...extra: string[]): Promise<{ pid: number; socket: string; http: string | null }> {
  return startDaemonWith(['--workers', '2', ...extra]);
}

async function startDaemonWith(flags: string[]): Promise<{ pid: number; socket: string; http: string | null }> {
  const run = await coord('daemon', 'start', '--detach', ...where(), '--worktree-root', repo.worktreeRoot, ...flags);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  const facts = JSON.parse(run.stdout) as { pid: number; socket: string; http: string | null };
  started.push(facts.pid);
  return facts;
}

/** A raw NDJSON conversation on the daemon's socket. */
async function rawSocket(): Promise<{ send(line: string): void; next(): Promise<Record<string, unknown>>; close(): void }> {
  const socket = net.connect(socketPath());
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const lines: Array<Record<string, unknown>> = [];
  const waiters: Array<(line: Record<string, unknown>) => void> = [];
  let buffer = '';
  socket.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    for (let i = buffer.indexOf('\n'); i !== -1; i = buffer.indexOf('\n')) {
      const line = JSON.parse(buffer.slice(0, i)) as Record<string, unknown>;
      buffer = buffer.slice(i + 1);
      const waiter = waiters.shift();
      if (waiter) waiter(line);
      else lines.push(line);
    }
  });
  return {
    send: (line) => socket.write(`${line}\n`),
    next: () => new Promise((resolve) => {
      const line = lines.shift();
      if (line) resolve(line);
      else waiters.push(resolve);
    }),
    close: () => socket.destroy(),
  };
}

function writeTasks(name: string, tasks: unknown[]): string {
  const file = path.join(repo.dir, name);
  writeFileSync(file, JSON.stringify({ tasks }));
  return file;
}

describe('coord daemon', () => {
  it('starts detached, reports its status, refuses a second start, and stops leaving nothing behind', async () => {
    repo = makeRepo();
    const none = await coord('daemon', 'status', ...where());
    expect(none.code).toBe(3);
    expect(JSON.parse(none.stdout)).toEqual({ running: false, socket: socketPath() });

    const facts = await startDaemon();
    expect(facts.socket).toBe(socketPath());
    expect(facts.http).toBeNull();
    expect(statSync(socketPath()).mode & 0o777).toBe(0o600);

    const status = await coord('daemon', 'status', ...where());
    expect(status.code).toBe(0);
    const body = JSON.parse(status.stdout) as Record<string, unknown>;
    expect(body).toMatchObject({ running: true, pid: facts.pid, state: 'running', socket: socketPath(), http: null });
    expect(Date.parse(String(body['startedAt']))).not.toBeNaN();
    expect(body['workers']).toEqual([
      expect.objectContaining({ id: 'w1', state: 'idle', task: null, restarts: 0, pid: expect.any(Number) }),
      expect.objectContaining({ id: 'w2', state: 'idle', task: null, restarts: 0, pid: expect.any(Number) }),
    ]);
    const workerPids = (body['workers'] as Array<{ pid: number }>).map((w) => w.pid);

    const second = await coord('daemon', 'start', '--detach', ...where(), '--worktree-root', repo.worktreeRoot);
    expect(second.code).toBe(2);
    expect(second.stderr).toContain('DAEMON_RUNNING');

    const stop = await coord('daemon', 'stop', ...where());
    expect(stop.code).toBe(0);
    expect(stop.stdout).toContain(`stopped (pid ${facts.pid})`);
    expect(isAlive(facts.pid)).toBe(false);
    for (const pid of workerPids) expect(isAlive(pid)).toBe(false);
    expect(existsSync(socketPath())).toBe(false);
    expect(existsSync(path.join(repo.stateDir, 'daemon.json'))).toBe(false);
    expect((await coord('daemon', 'stop', ...where())).code).toBe(3);
  });

  it('after kill -9, starts again on the stale socket and resumes the stored tasks', async () => {
    repo = makeRepo();
    const gate = path.join(repo.dir, 'gate');
    const first = await startDaemon();
    const file = writeTasks('tasks.json', [
      { id: 'wait', run: ['sh', '-c', `while [ ! -e ${gate} ]; do sleep 0.05; done; echo done > out.txt`] },
      { id: 'after', deps: ['wait'], run: ['true'] },
    ]);
    const submitted = await coord('submit', file, ...where());
    expect(submitted.code).toBe(0);
    expect(submitted.stdout.trim().split('\n')).toEqual(['wait', 'after']);
    await vi.waitFor(async () => {
      const status = JSON.parse((await coord('daemon', 'status', ...where())).stdout) as { counts: Record<string, number> };
      expect(status.counts['running']).toBe(1);
    }, { timeout: 20_000, interval: 100 });

    process.kill(first.pid, 'SIGKILL');
    await vi.waitFor(() => expect(isAlive(first.pid)).toBe(false));
    expect(existsSync(socketPath())).toBe(true);

    const second = await startDaemon();
    expect(second.pid).not.toBe(first.pid);
    writeFileSync(gate, '');
    await vi.waitFor(async () => {
      const status = JSON.parse((await coord('daemon', 'status', ...where())).stdout) as { counts: Record<string, number> };
      expect(status.counts).toMatchObject({ complete: 2 });
    }, { timeout: 30_000, interval: 100 });
    const task = JSON.parse((await coord('task', 'wait', '--json', ...where())).stdout) as { status: string; releases: number };
    expect(task).toMatchObject({ status: 'complete', releases: 1 });
    expect((await coord('daemon', 'stop', ...where())).code).toBe(0);
  });

  it('answers a malformed, an unknown and an oversized line with BAD_REQUEST on a connection that keeps working', async () => {
    repo = makeRepo();
    await startDaemon();
    const socket = await rawSocket();
    try {
      socket.send('{not json');
      expect(await socket.next()).toMatchObject({ id: null, ok: false, error: { code: 'BAD_REQUEST' } });
      socket.send('{"id":5,"cmd":"explode"}');
      expect(await socket.next()).toMatchObject({ id: 5, ok: false, error: { code: 'BAD_REQUEST' } });
      socket.send(`{"id":6,"cmd":"submit","tasks":["${'x'.repeat(1024 * 1024 + 10)}"]}`);
      expect(await socket.next()).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST', message: expect.stringContaining('limit') } });
      socket.send('{"id":7,"cmd":"status"}');
      expect(await socket.next()).toMatchObject({ id: 7, ok: true, data: { running: true, state: 'running' } });
      socket.send('{"id":8,"cmd":"submit","tasks":[{"id":"via-socket","run":["true"]}]}');
      expect(await socket.next()).toMatchObject({ id: 8, ok: true, data: { ids: ['via-socket'] } });
      socket.send('{"id":"nope","cmd":"task"}');
      expect(await socket.next()).toMatchObject({ id: 'nope', ok: false, error: { code: 'TASK_NOT_FOUND' } });
      socket.send('{"id":9,"cmd":"submit","tasks":[{"id":"bad","deps":["missing"],"run":["true"]}]}');
      expect(await socket.next()).toMatchObject({ id: 9, ok: false, error: { code: 'TASK_UNKNOWN_DEP' } });
    } finally {
      socket.close();
    }
    await vi.waitFor(async () => {
      const task = JSON.parse((await coord('task', 'via-socket', '--json', ...where())).stdout) as { status: string };
      expect(task.status).toBe('complete');
    }, { timeout: 20_000, interval: 100 });
    expect((await coord('task', 'bad', ...where())).code).toBe(1);
    expect((await coord('daemon', 'stop', ...where())).code).toBe(0);
  });
});

describe('the daemon from the command line', () => {
  it('streams events with coord watch, cancels with coord cancel, and follows config edits live', async () => {
    repo = makeRepo({ 'README.md': '# test\n', 'coord.yaml': 'workers: 2\n' });
    const facts = await startDaemonWith([]);
    const status = async () => JSON.parse((await coord('daemon', 'status', ...where())).stdout) as { workers: Array<{ id: string; state: string }> };
    expect((await status()).workers).toHaveLength(2);

    const watch = startCli(['watch', '--json', ...where()], { cwd: repo.dir });
    const events = () => watch.stdout().split('\n').filter(Boolean).map((line) => JSON.parse(line) as { event: string; data: Record<string, unknown> });
    // `coord watch` is live once it has seen an event: submit a new task until one of them reaches it
    // (a task completed before the subscription is never heard, so each try needs a task of its own).
    let pings = 0;
    await vi.waitFor(async () => {
      pings += 1;
      await coord('submit', writeTasks(`ping-${pings}.json`, [{ id: `ping-${pings}`, run: ['true'] }]), ...where());
      expect(events().some((e) => e.event === 'coord:complete' && String(e.data['taskId']).startsWith('ping-'))).toBe(true);
    }, { timeout: 30_000, interval: 500 });

    const gate = path.join(repo.dir, 'never');
    await coord('submit', writeTasks('slow.json', [{ id: 'slow', run: ['sh', '-c', `while [ ! -e ${gate} ]; do sleep 0.05; done`] }]), ...where());
    await vi.waitFor(() => expect(events().some((e) => e.event === 'coord:started' && e.data['taskId'] === 'slow')).toBe(true), { timeout: 20_000 });
    const cancel = await coord('cancel', 'slow', ...where());
    expect(cancel.code).toBe(0);
    expect(cancel.stdout).toContain('cancelled slow');
    await vi.waitFor(() => expect(events().some((e) => e.event === 'coord:cancelled' && e.data['taskId'] === 'slow')).toBe(true), { timeout: 20_000 });
    const again = await coord('cancel', 'slow', ...where());
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('TASK_STATE_CONFLICT');

    // A live edit: the worker count follows the file.
    writeFileSync(path.join(repo.repo, 'coord.yaml'), 'workers: 3\n');
    await vi.waitFor(async () => expect((await status()).workers).toHaveLength(3), { timeout: 20_000, interval: 200 });
    expect(events().some((e) => e.event === 'coord:config-reloaded' && JSON.stringify(e.data['applied']) === '["workers"]')).toBe(true);
    // An invalid edit is rejected, and the running configuration stays.
    writeFileSync(path.join(repo.repo, 'coord.yaml'), 'workers: 0\n');
    await vi.waitFor(() => expect(events().some((e) => e.event === 'coord:config-rejected')).toBe(true), { timeout: 20_000 });
    const rejected = events().find((e) => e.event === 'coord:config-rejected');
    expect(rejected?.data['error']).toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('workers') });
    expect((await status()).workers).toHaveLength(3);
    // Down again, with a key that needs a restart: reported, not applied.
    writeFileSync(path.join(repo.repo, 'coord.yaml'), 'workers: 1\nleaseMs: 20000\n');
    await vi.waitFor(async () => expect((await status()).workers).toHaveLength(1), { timeout: 20_000, interval: 200 });
    const reloaded = events().filter((e) => e.event === 'coord:config-reloaded').at(-1);
    expect(reloaded?.data).toMatchObject({ applied: ['workers'], restart: ['leaseMs'] });
    const log = readFileSync(path.join(repo.stateDir, 'logs', 'coord.log'), 'utf8');
    expect(log).toContain('leaseMs changed; this takes a restart');
    expect(log).toContain('config edit rejected');

    watch.child.kill('SIGINT');
    expect((await watch.exit).code).toBe(0);
    expect((await coord('daemon', 'stop', ...where())).code).toBe(0);
    expect(isAlive(facts.pid)).toBe(false);
  });
});

describe('coord daemon install --print', () => {
  it('writes a systemd user unit with the daemon\'s exact command line that systemd-analyze verify accepts, installing nothing', async () => {
    repo = makeRepo();
    const run = await coord('daemon', 'install', '--print', '--workers', '3', ...where(), '--http', '127.0.0.1:0');
    expect(run.code).toBe(0);
    const unit = run.stdout;
    expect(unit).toContain('Restart=on-failure');
    expect(unit).toContain('KillMode=mixed');
    expect(unit).toContain(`WorkingDirectory=${repo.dir}`);
    const execStart = unit.split('\n').find((line) => line.startsWith('ExecStart=')) ?? '';
    for (const word of [process.execPath, 'daemon', 'start', '--workers', '3', '--repo', repo.repo, '--state-dir', repo.stateDir, '--http', '127.0.0.1:0']) {
      expect(execStart).toContain(word);
    }
    expect(execStart).not.toContain('--print');
    expect(existsSync(path.join(os.homedir(), '.config', 'systemd', 'user', 'coord-repo.service'))).toBe(false);

    const unitFile = path.join(repo.dir, 'coord-test.service');
    writeFileSync(unitFile, unit);
    const runtime = path.join(repo.dir, 'runtime');
    mkdirSync(runtime, { mode: 0o700 });
    const verify = spawnSync('systemd-analyze', ['verify', '--user', unitFile], {
      encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: runtime, HOME: path.join(repo.dir, 'home'), SYSTEMD_PAGER: 'cat' },
    });
    if (verify.error) throw new Error(`systemd-analyze could not be run (${verify.error.message}): install systemd (Debian: apt-get install systemd)`);
    expect(verify.status, verify.stderr).toBe(0);
    // verify exits 0 after warnings too: none may name the unit.
    expect(`${verify.stdout}${verify.stderr}`.split('\n').filter((line) => line.includes('coord-test.service'))).toEqual([]);
  });
});

describe('the HTTP API', () => {
  it('needs the token, validates submissions, serves tasks, logs, metrics and live events', async () => {
    repo = makeRepo();
    const facts = await startDaemon('--http', '127.0.0.1:0');
    expect(facts.http).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const base = facts.http as string;
    const tokenFile = path.join(repo.stateDir, 'http.token');
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    const token = readFileSync(tokenFile, 'utf8').trim();
    const auth = { authorization: `Bearer ${token}` };
    const json = { ...auth, 'content-type': 'application/json' };

    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ ok: true, state: 'running' });
    for (const [route, init] of [['/status', {}], ['/tasks', {}], ['/metrics', {}], ['/tasks', { method: 'POST', body: '{"tasks":[]}' }]] as const) {
      const refused = await fetch(`${base}${route}`, { ...init, headers: { authorization: 'Bearer wrong', 'content-type': 'application/json' } });
      expect(refused.status, route).toBe(401);
      expect(await refused.json()).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
    }
    expect((await fetch(`${base}/status`)).status).toBe(401);

    const status = await (await fetch(`${base}/status`, { headers: auth })).json() as Record<string, unknown>;
    expect(status).toMatchObject({ running: true, pid: facts.pid, state: 'running', http: base });

    // A bad graph is refused whole: nothing of it is stored.
    const bad = await fetch(`${base}/tasks`, { method: 'POST', headers: json, body: JSON.stringify({ tasks: [{ id: 'fine', run: ['true'] }, { id: 'loop', deps: ['loop'], run: ['true'] }] }) });
    expect(bad.status).toBe(400);
    const badBody = await bad.json() as { error: { code: string; message: string } };
    expect(badBody.error.code).toBe('TASK_CYCLE');
    expect(JSON.stringify(badBody)).not.toMatch(/at .*\.js:\d+/);
    expect((await fetch(`${base}/tasks/fine`, { headers: auth })).status).toBe(404);
    const notJson = await fetch(`${base}/tasks`, { method: 'POST', headers: json, body: '{"tasks": [' });
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toMatchObject({ error: { code: 'BAD_REQUEST' } });
    const wrongShape = await fetch(`${base}/tasks`, { method: 'POST', headers: json, body: '{"task": []}' });
    expect(wrongShape.status).toBe(400);

    // A WebSocket client, connected before the work, sees each task complete.
    const ws = new WebSocket(`${base.replace('http', 'ws')}/events`, { headers: auth });
    const seen: Array<{ event: string; data: { taskId?: string }; at: string }> = [];
    ws.on('message', (data) => seen.push(JSON.parse(String(data))));
    await new Promise<void>((resolve, reject) => ws.once('open', () => resolve()).once('error', reject));

    const ids = ['h1', 'h2', 'h3'];
    const posted = await fetch(`${base}/tasks`, { method: 'POST', headers: json, body: JSON.stringify({ tasks: [
      ...ids.map((id) => ({ id, run: ['sh', '-c', `echo hello from ${id}`] })),
      { id: 'fails', run: ['sh', '-c', 'echo broken; exit 3'], maxAttempts: 1 },
    ] }) });
    expect(posted.status).toBe(201);
    expect(await posted.json()).toEqual({ ids: [...ids, 'fails'] });
    await vi.waitFor(() => {
      expect(seen.filter((e) => e.event === 'coord:complete').map((e) => e.data.taskId).sort()).toEqual(ids);
      expect(seen.some((e) => e.event === 'coord:dead' && e.data.taskId === 'fails')).toBe(true);
    }, { timeout: 30_000, interval: 100 });
    expect(Date.parse(seen[0]?.at ?? '')).not.toBeNaN();
    ws.close();

    const tasks = await (await fetch(`${base}/tasks`, { headers: auth })).json() as Array<{ id: string; status: string; history: unknown[] }>;
    expect(tasks.map((t) => [t.id, t.status])).toEqual([['h1', 'complete'], ['h2', 'complete'], ['h3', 'complete'], ['fails', 'dead']]);
    expect(tasks[0]?.history).toHaveLength(1);
    const dead = await (await fetch(`${base}/tasks?status=dead`, { headers: auth })).json() as Array<{ id: string }>;
    expect(dead.map((t) => t.id)).toEqual(['fails']);
    expect((await fetch(`${base}/tasks?status=bogus`, { headers: auth })).status).toBe(400);
    const one = await (await fetch(`${base}/tasks/h2`, { headers: auth })).json() as { id: string; branch: string };
    expect(one).toMatchObject({ id: 'h2', branch: 'coord/h2' });
    const log = await fetch(`${base}/tasks/h2/log`, { headers: auth });
    expect(log.status).toBe(200);
    expect(await log.text()).toContain('hello from h2');
    expect((await fetch(`${base}/tasks/h2/log?attempt=9`, { headers: auth })).status).toBe(404);

    // Transitions a task's state does not allow are 409; unknown tasks 404.
    expect((await fetch(`${base}/tasks/h1/cancel`, { method: 'POST', headers: auth })).status).toBe(409);
    expect((await fetch(`${base}/tasks/h1/redrive`, { method: 'POST', headers: auth })).status).toBe(409);
    const missing = await fetch(`${base}/tasks/ghost/cancel`, { method: 'POST', headers: auth });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'TASK_NOT_FOUND' } });
    const redriven = await fetch(`${base}/tasks/fails/redrive`, { method: 'POST', headers: auth });
    expect(redriven.status).toBe(200);
    expect(await redriven.json()).toEqual({ taskId: 'fails', changed: ['fails'] });

    // The mailbox is for agent tasks: a message to a command task is refused, to no task 404.
    const toCommand = await fetch(`${base}/tasks/h1/messages`, { method: 'POST', headers: json, body: JSON.stringify({ text: 'hello' }) });
    expect(toCommand.status).toBe(400);
    expect(await toCommand.json()).toMatchObject({ error: { code: 'BAD_REQUEST' } });
    expect((await fetch(`${base}/tasks/ghost/messages`, { method: 'POST', headers: json, body: JSON.stringify({ text: 'hello' }) })).status).toBe(404);
    expect((await fetch(`${base}/tasks/h1/unblock`, { method: 'POST', headers: json, body: JSON.stringify({ reason: 'why not' }) })).status).toBe(409);
    expect((await fetch(`${base}/tasks/h1/unblock`, { method: 'POST', headers: json, body: '{}' })).status).toBe(400);
    const viaCli = await coord('message', 'h1', 'hello', ...where());
    expect(viaCli.code).toBe(2);
    expect(viaCli.stderr).toContain('BAD_REQUEST');
    const noReason = await coord('unblock', 'h1', ...where());
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toContain('needs a reason');

    await vi.waitFor(async () => {
      const again = await (await fetch(`${base}/tasks/fails`, { headers: auth })).json() as { status: string; attempts: number };
      expect(again).toMatchObject({ status: 'dead', attempts: 2 });
    }, { timeout: 20_000, interval: 100 });
    const metrics = await fetch(`${base}/metrics`, { headers: auth });
    expect(metrics.status).toBe(200);
    const text = await metrics.text();
    expect(text).toContain('coord_tasks{status="complete"} 3');
    expect(text).toContain('coord_tasks{status="dead"} 1');
    expect(text).toMatch(/coord_task_attempts_total\{outcome="complete",code="none"\} 3/);
    expect(text).toMatch(/coord_task_attempts_total\{outcome="failed",code="TASK_EXIT_NONZERO"\} 2/);
    expect(text).toMatch(/coord_workers\{state="idle"\} 2/);
    expect(text).toContain('coord_process_resident_memory_bytes');

    const drained = await fetch(`${base}/drain`, { method: 'POST', headers: auth });
    expect(drained.status).toBe(200);
    await vi.waitFor(() => expect(isAlive(facts.pid)).toBe(false), { timeout: 20_000 });
    expect(existsSync(socketPath())).toBe(false);
  });
});
