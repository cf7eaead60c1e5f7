/**
 * The inspection stream from a real daemon (4 forked workers, real HTTP and WebSocket): a
 * client gets an `@xstate.actor` with a definition for the coordinator and each worker, a
 * snapshot change when a task runs, and a worker killed with -9 going through its restart
 * states; a late client gets the live actors replayed; `coord inspect` prints a one-time link
 * that sets an HttpOnly SameSite=Strict cookie once and leaves the code out of the address;
 * the socket's `inspect` stream carries the same, and `coord watch --machines` prints it as lines.
 * And the page in a real headless Chromium (Debian's, driven by playwright-core; no browser
 * download), opened through that link with every request to anything but the daemon blocked:
 * the coordinator and 4 workers with their `data-state`, a worker killed with -9 changing its
 * `data-state` within 3 s; screenshots in test/artifacts/ (docs/inspect.png is one).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import type { InspectMessage } from '../../src/inspect/types.js';
import { ROOT, runCli, startCli } from '../helpers/cli.js';
import { isAlive, makeRepo, type TempRepo } from '../helpers/git-repo.js';

let repo: TempRepo;
let browser: Browser | undefined;
const started: number[] = [];
afterEach(async () => {
  await browser?.close();
  browser = undefined;
  for (const pid of started.splice(0)) {
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    await vi.waitFor(() => expect(isAlive(pid)).toBe(false), { timeout: 10_000 });
  }
  repo?.cleanup();
});

const coord = (...args: string[]) => runCli(args, { cwd: repo.dir });
const where = (): string[] => ['--repo', repo.repo, '--state-dir', repo.stateDir];

async function startDaemon(): Promise<{ pid: number; http: string }> {
  const run = await coord('daemon', 'start', '--detach', ...where(), '--worktree-root', repo.worktreeRoot, '--workers', '4', '--http', '127.0.0.1:0');
  expect(run.code, run.stderr).toBe(0);
  const facts = JSON.parse(run.stdout) as { pid: number; http: string };
  started.push(facts.pid);
  return facts;
}

/** A WebSocket client of /inspect/stream that keeps every message and can wait for one. */
async function streamClient(http: string, token: string) {
  const socket = new WebSocket(`${http.replace('http', 'ws')}/inspect/stream?token=${token}`);
  const got: InspectMessage[] = [];
  socket.on('message', (data) => got.push(JSON.parse(String(data)) as InspectMessage));
  await new Promise<void>((resolve, reject) => socket.once('open', () => resolve()).once('error', reject));
  const until = (test: (messages: InspectMessage[]) => boolean, timeout = 20_000) => vi.waitFor(() => expect(test(got)).toBe(true), { timeout, interval: 50 });
  return { got, until, close: () => socket.close() };
}

type ActorMessage = Extract<InspectMessage, { type: '@xstate.actor' }>;
const actors = (messages: InspectMessage[]): ActorMessage[] => messages.filter((m): m is ActorMessage => m.type === '@xstate.actor');
const valueOf = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

describe('the inspection stream of a daemon with 4 workers', () => {
  it('replays every machine with its definition, streams a task run, and shows a killed worker restarting', async () => {
    repo = makeRepo();
    const { http } = await startDaemon();
    const token = readFileSync(path.join(repo.stateDir, 'http.token'), 'utf8').trim();
    const client = await streamClient(http, token);
    await client.until((m) => m.some((x) => x.type === 'coord.replayed') && actors(m).filter((a) => /^w\d$/.test(a.name)).length === 4);
    const replay = actors(client.got);
    const coordinator = replay.find((a) => a.name === 'coordinator');
    expect(coordinator?.definition).toBeDefined();
    expect(JSON.parse(coordinator?.definition ?? '{}')).toMatchObject({ id: 'coordinator' });
    const workers = replay.filter((a) => /^w\d$/.test(a.name));
    for (const worker of workers) {
      expect(worker.parentId).toBe(coordinator?.sessionId);
      expect(JSON.parse(worker.definition ?? '{}')).toMatchObject({ id: 'worker' });
    }
    expect(JSON.stringify(client.got)).not.toContain(token);

    // A task running shows as a worker's snapshot going busy.
    const tasks = path.join(repo.dir, 'tasks.json');
    writeFileSync(tasks, JSON.stringify({ tasks: [{ id: 'hello', run: ['sh', '-c', 'sleep 0.5'] }] }));
    expect((await coord('submit', tasks, ...where())).code).toBe(0);
    const workerIds = new Set(workers.map((w) => w.sessionId));
    await client.until((m) => m.some((x) => x.type === '@xstate.snapshot' && workerIds.has(x.sessionId) && valueOf(x.snapshot.value).includes('busy')));

    // kill -9 of a worker: its snapshot goes through the restart states, and back.
    const status = JSON.parse((await coord('daemon', 'status', ...where())).stdout) as { workers: Array<{ id: string; pid: number }> };
    const victim = status.workers.find((w) => w.id === 'w3');
    const w3 = workers.find((w) => w.name === 'w3');
    expect(victim?.pid).toBeGreaterThan(0);
    const before = client.got.length;
    process.kill(victim?.pid ?? 0, 'SIGKILL');
    await client.until((m) => m.slice(before).some((x) => x.type === '@xstate.snapshot' && x.sessionId === w3?.sessionId && valueOf(x.snapshot.value).includes('restarting')));
    await client.until((m) => {
      const states = m.slice(before).filter((x) => x.type === '@xstate.snapshot' && x.sessionId === w3?.sessionId).map((x) => valueOf((x as { snapshot: { value: unknown } }).snapshot.value));
      return states.includes('idle') && states.indexOf('idle') > states.findIndex((s) => s.includes('restarting'));
    });

    // A client that connects now gets the live actors again, w3 among them.
    const late = await streamClient(http, token);
    await late.until((m) => m.some((x) => x.type === 'coord.replayed'));
    expect(actors(late.got).map((a) => a.name)).toEqual(expect.arrayContaining(['coordinator', 'w1', 'w2', 'w3', 'w4']));
    late.close();
    client.close();
    expect((await coord('daemon', 'stop', ...where())).code).toBe(0);
  });

  it('coord inspect prints a one-time link that sets an HttpOnly SameSite=Strict cookie and leaves the code out of the address', async () => {
    repo = makeRepo();
    const { http } = await startDaemon();
    const run = await coord('inspect', '--no-open', ...where());
    expect(run.code, run.stderr).toBe(0);
    const link = run.stdout.trim();
    expect(link).toMatch(new RegExp(`^${http}/inspect\\?code=[A-Za-z0-9_-]{20,}$`));
    const first = await fetch(link, { redirect: 'manual' });
    expect(first.status).toBe(303);
    expect(first.headers.get('location')).toBe('/inspect');
    const cookie = first.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^coord_inspect=[^;]+; HttpOnly; SameSite=Strict; Path=\/inspect$/);
    // Used once: the same link is refused.
    expect((await fetch(link, { redirect: 'manual' })).status).toBe(401);
    // Without the cookie the page is refused; with it, served, and the stream accepts it.
    expect((await fetch(`${http}/inspect`)).status).toBe(401);
    const session = cookie.split(';')[0] ?? '';
    const page = await fetch(`${http}/inspect`, { headers: { cookie: session } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    const ws = new WebSocket(`${http.replace('http', 'ws')}/inspect/stream`, { headers: { cookie: session } });
    const firstMessage = await new Promise<InspectMessage>((resolve, reject) => ws.once('message', (data) => resolve(JSON.parse(String(data)) as InspectMessage)).once('error', reject));
    expect(firstMessage.type).toBe('@xstate.actor');
    ws.close();
    const refused = new WebSocket(`${http.replace('http', 'ws')}/inspect/stream`);
    const code = await new Promise<number>((resolve) => refused.once('close', (c) => resolve(c)));
    expect(code).toBe(4401);
    expect((await coord('daemon', 'stop', ...where())).code).toBe(0);
  });

  it("streams the same messages over the socket's inspect command", async () => {
    repo = makeRepo();
    await startDaemon();
    const socket = net.connect(path.join(repo.stateDir, 'coord.sock'));
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const lines: Array<Record<string, unknown>> = [];
    let buffer = '';
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      for (let i = buffer.indexOf('\n'); i !== -1; i = buffer.indexOf('\n')) {
        lines.push(JSON.parse(buffer.slice(0, i)) as Record<string, unknown>);
        buffer = buffer.slice(i + 1);
      }
    });
    socket.write(`${JSON.stringify({ id: 1, cmd: 'inspect' })}\n`);
    await vi.waitFor(() => expect(lines.some((l) => l['type'] === 'coord.replayed')).toBe(true), { timeout: 10_000, interval: 50 });
    expect(lines[0]).toEqual({ id: 1, ok: true, data: { subscribed: true } });
    expect(lines.filter((l) => l['type'] === '@xstate.actor').map((l) => l['name'])).toEqual(expect.arrayContaining(['coordinator', 'w1', 'w2', 'w3', 'w4']));
    socket.destroy();
    expect((await coord('daemon', 'stop', ...where())).code).toBe(0);
  });

  it('coord watch --machines prints each actor\'s state change as a line, a killed worker\'s restart among them', async () => {
    repo = makeRepo();
    await startDaemon();
    const watch = startCli(['watch', '--machines', ...where()], { cwd: repo.dir });
    try {
      // w3 is idle (it may have been announced still spawning, then moved to idle).
      await vi.waitFor(() => expect(watch.stdout()).toMatch(/^w3 (?:(?:started )?in idle|\S+ → idle \(.*\))$/m), { timeout: 15_000, interval: 50 });
      const status = JSON.parse((await coord('daemon', 'status', ...where())).stdout) as { workers: Array<{ id: string; pid: number }> };
      process.kill(status.workers.find((w) => w.id === 'w3')?.pid ?? 0, 'SIGKILL');
      await vi.waitFor(() => expect(watch.stdout()).toMatch(/^w3 idle → restarting \(process\.exited SIGKILL\)$/m), { timeout: 15_000, interval: 50 });
      await vi.waitFor(() => expect(watch.stdout()).toMatch(/^w3 \S+ → idle \(/m), { timeout: 15_000, interval: 50 });
    } finally {
      watch.child.kill('SIGINT');
      await watch.exit;
    }
    expect((await coord('daemon', 'stop', ...where())).code).toBe(0);
  });
});

describe('the inspector page in Chromium', () => {
  it('shows the coordinator and 4 workers live, offline, and a killed worker restarting within 3 s', async () => {
    repo = makeRepo();
    const facts = await startDaemon();
    const link = (await coord('inspect', '--no-open', ...where())).stdout.trim();

    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const origin = new URL(facts.http).origin;
    const elsewhere: string[] = [];
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (new URL(url).origin === origin) return route.continue();
      elsewhere.push(url);
      return route.abort();
    });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(link);
    // The code is gone from the address: the session is in the cookie.
    expect(page.url()).toBe(`${origin}/inspect`);
    const cookies = await page.context().cookies();
    expect(cookies.find((c) => c.name === 'coord_inspect')).toMatchObject({ httpOnly: true, sameSite: 'Strict' });

    for (const id of ['coordinator', 'w1', 'w2', 'w3', 'w4']) {
      await page.waitForSelector(`[data-actor-id="${id}"][data-state]`, { timeout: 15_000 });
    }
    expect(await page.getAttribute('[data-actor-id="coordinator"]', 'data-state')).toBe('running');
    await vi.waitFor(async () => expect(await page.getAttribute('[data-actor-id="w3"]', 'data-state')).toBe('idle'), { timeout: 15_000, interval: 100 });
    // 1280×800, 4 workers: no scrolling.
    const fits = await page.evaluate(() => {
      const { document: doc, innerHeight, innerWidth } = globalThis as unknown as { document: { documentElement: { scrollHeight: number; scrollWidth: number } }; innerHeight: number; innerWidth: number };
      return doc.documentElement.scrollHeight <= innerHeight && doc.documentElement.scrollWidth <= innerWidth;
    });
    expect(fits).toBe(true);
    const artifacts = path.join(ROOT, 'test', 'artifacts');
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: path.join(artifacts, 'inspector-4-workers.png') });

    const status = JSON.parse((await coord('daemon', 'status', ...where())).stdout) as { workers: Array<{ id: string; pid: number }> };
    const w3 = status.workers.find((w) => w.id === 'w3');
    process.kill(w3?.pid ?? 0, 'SIGKILL');
    // The page shows it within 3 s (the wait's own bound).
    await vi.waitFor(async () => expect(await page.getAttribute('[data-actor-id="w3"]', 'data-state')).not.toBe('idle'), { timeout: 3_000, interval: 25 });
    await page.screenshot({ path: path.join(artifacts, 'inspector-w3-restarting.png') });
    // And back to idle once restarted.
    await vi.waitFor(async () => expect(await page.getAttribute('[data-actor-id="w3"]', 'data-state')).toBe('idle'), { timeout: 15_000, interval: 100 });

    expect(elsewhere).toEqual([]);
    expect(errors).toEqual([]);
    expect(readFileSync(path.join(artifacts, 'inspector-w3-restarting.png')).length).toBeGreaterThan(1_000);
    expect((await coord('daemon', 'stop', ...where())).code).toBe(0);
  });
});
