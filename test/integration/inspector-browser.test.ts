/**
 * The inspector page in a real headless Chromium (Debian's, driven by playwright-core; no
 * browser download) against a real daemon with 4 workers: opened through the one-time link
 * `coord inspect` prints, with every request to anything but the daemon blocked. It renders
 * the coordinator and the 4 workers with their `data-state`; a worker killed with -9 changes
 * its `data-state` within 3 s; screenshots are saved in test/artifacts/ (docs/inspect.png is one).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ROOT, runCli } from '../helpers/cli.js';
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

describe('the inspector page in Chromium', () => {
  it('shows the coordinator and 4 workers live, offline, and a killed worker restarting within 3 s', async () => {
    repo = makeRepo();
    const run = await coord('daemon', 'start', '--detach', ...where(), '--worktree-root', repo.worktreeRoot, '--workers', '4', '--http', '127.0.0.1:0');
    expect(run.code, run.stderr).toBe(0);
    const facts = JSON.parse(run.stdout) as { pid: number; http: string };
    started.push(facts.pid);
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
