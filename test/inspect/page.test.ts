/**
 * The inspector page (assets/inspect/) in the real Chromium, against a fixture server that
 * plays inspection messages built from the real machine definitions
 * (test/helpers/inspect-fixture.ts). Every request that is not to the fixture is blocked and
 * counted: the page must need nothing but coord.
 *
 * The page's contract for tests and scripts: `.card[data-actor-id=<name>]` with
 * `data-state=<dotted state value>`; state boxes `[data-state-node=<path>]`, class `active`.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFINITIONS, InspectFixture, type InspectFixtureOptions } from '../helpers/inspect-fixture.js';

// What the callbacks that run in the page use of its globals (the project's typecheck has no DOM lib).
interface PageElement {
  readonly children: ArrayLike<PageElement> & Iterable<PageElement>;
  readonly textContent: string | null;
  readonly hidden: boolean;
  getAttribute(name: string): string | null;
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): ArrayLike<PageElement> & Iterable<PageElement>;
}
declare const document: {
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): ArrayLike<PageElement>;
  readonly documentElement: { readonly scrollHeight: number; readonly scrollWidth: number };
};
declare const CSS: { escape(text: string): string };

const CHROMIUM = '/usr/bin/chromium';
const here = path.dirname(fileURLToPath(import.meta.url));
const ARTIFACTS = path.resolve(here, '../artifacts');
const CHART_JS = path.resolve(here, '../../assets/inspect/chart.js');

interface Chart {
  parseDefinition(def: unknown): {
    id: string;
    nodes: Map<string, { path: string; type: string; initial: string | null }>;
    edges: Array<{ source: string; target: string; labels: string[] }>;
    unresolved: Array<{ source: string; target: string; label: string }>;
  };
  activePaths(value: unknown): string[];
  formatStateValue(value: unknown): string;
}
// A plain-JS browser module; imported by a computed path so that the typecheck leaves it alone.
const loadChart = (): Promise<Chart> => import(/* @vite-ignore */ CHART_JS) as Promise<Chart>;

const dotted = (value: unknown): string => {
  if (typeof value === 'string') return value;
  const [k, v] = Object.entries(value as Record<string, unknown>)[0]!;
  return `${k}.${dotted(v)}`;
};

describe('inspector charts: reading machine definitions', () => {
  it('resolves the real machines\' targets, one arrow per source and target', async () => {
    const chart = await loadChart();
    for (const def of Object.values(DEFINITIONS)) expect(chart.parseDefinition(def).unresolved).toEqual([]);

    const coordinator = chart.parseDefinition(DEFINITIONS.coordinator);
    const edge = (m: ReturnType<Chart['parseDefinition']>, source: string, target: string) => m.edges.find((e) => e.source === source && e.target === target);
    expect(coordinator.nodes.get('draining')).toMatchObject({ type: 'compound', initial: 'finishing' });
    expect(coordinator.nodes.get('stopped')).toMatchObject({ type: 'final' });
    expect(edge(coordinator, 'init', 'running')?.labels).toEqual(['done: initialize']);
    expect(edge(coordinator, 'running', 'draining.stoppingWorkers')?.labels).toEqual(['coordinator.stop', 'worker.failed']);
    // `#coordinator.failed` and `#coordinator.stopped` from deep inside `draining`.
    expect(edge(coordinator, 'draining.closing', 'failed')?.labels).toEqual(['done: closeResources', 'error: closeResources']);
    expect(edge(coordinator, 'draining.closing', 'stopped')?.labels).toEqual(['done: closeResources']);
    expect(edge(coordinator, 'draining.finishing', 'draining.stoppingWorkers')?.labels).toContain('after drainDeadline');

    const worker = chart.parseDefinition(DEFINITIONS.worker);
    // An array of guarded transitions: one arrow per target.
    expect(worker.edges.filter((e) => e.source === 'busy' && e.labels.includes('process.exited')).map((e) => e.target).sort()).toEqual(['coolingDown', 'failed', 'restarting']);
    expect(edge(worker, 'spawning', 'stopping')?.labels).toEqual(['worker.stop', 'after spawnTimeout']);
    expect(edge(worker, 'stopping.asking', 'stopping.terminating')?.labels).toEqual(['after shutdownGrace']);
    // Targetless transitions (`task.cancel`, the root's `process.heartbeat`) draw nothing.
    expect(worker.edges.some((e) => e.labels.includes('task.cancel'))).toBe(false);
    expect(worker.edges.some((e) => e.source === '')).toBe(false);
  });

  it('resolves every form of target XState accepts', async () => {
    const chart = await loadChart();
    const m = chart.parseDefinition({
      id: 'm',
      initial: 'a',
      states: {
        a: {
          initial: 'a1',
          on: { GO: 'b', DEEP: '#m.b.b2', INNER: '.a2', BOTH: [{ guard: 'g', target: 'b' }, { target: ['c'] }], NONE: { actions: 'x' } },
          after: { 5000: 'c' },
          always: { guard: 'g', target: 'c' },
          states: { a1: { on: { UP: 'a2', OUT: '#named' } }, a2: { on: { SIB: 'a1' } } },
        },
        b: { initial: 'b1', states: { b1: { id: 'named', on: { NEXT: 'b2' } }, b2: { on: { BACK: '#m.a' } } } },
        c: { type: 'final' },
        bad: { on: { NOWHERE: 'missing' } },
      },
    });
    const pairs = m.edges.map((e) => `${e.source}>${e.target}:${e.labels.join('|')}`).sort();
    expect(pairs).toEqual([
      'a.a1>a.a2:UP',
      'a.a1>b.b1:OUT',
      'a.a2>a.a1:SIB',
      'a>a.a2:INNER',
      'a>b.b2:DEEP',
      'a>b:GO|BOTH',
      'a>c:BOTH|after 5000|always',
      'b.b1>b.b2:NEXT',
      'b.b2>a:BACK',
    ]);
    expect(m.unresolved).toEqual([{ source: 'bad', target: 'missing', label: 'NOWHERE' }]);
  });

  it('flattens state values', async () => {
    const chart = await loadChart();
    expect(chart.formatStateValue('busy')).toBe('busy');
    expect(chart.formatStateValue({ busy: 'running' })).toBe('busy.running');
    expect(chart.formatStateValue({ draining: { stopping: 'asking' } })).toBe('draining.stopping.asking');
    expect(chart.formatStateValue({ p: { a: 'x', b: 'y' } })).toBe('p.a.x,p.b.y');
    expect(chart.activePaths({ stopping: 'asking' })).toEqual(['stopping', 'stopping.asking']);
  });
});

// Chromium is set up by test/setup/ensure-system.mjs (npm test): without it this fails, never skips.
describe('inspector page in Chromium', () => {
  let browser: Browser;
  const open: Array<{ fixture: InspectFixture; context: BrowserContext }> = [];

  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });
  afterEach(async () => {
    for (const { fixture, context } of open.splice(0)) {
      await context.close();
      await fixture.close();
    }
  });
  afterAll(async () => {
    await browser?.close();
  });

  interface Opened {
    fixture: InspectFixture;
    page: Page;
    /** Page errors and console errors. */
    problems: string[];
    /** Requests (and WebSockets) to anything but the fixture: all blocked. */
    external: string[];
  }

  async function openPage(options: InspectFixtureOptions = {}): Promise<Opened> {
    const fixture = await InspectFixture.start(options);
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    open.push({ fixture, context });
    const page = await context.newPage();
    const problems: string[] = [];
    const external: string[] = [];
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
    });
    page.on('websocket', (ws) => {
      if (new URL(ws.url()).host !== new URL(fixture.origin).host) external.push(ws.url());
    });
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (new URL(url).origin === fixture.origin) return route.continue();
      external.push(url);
      return route.abort();
    });
    await page.goto(fixture.url);
    return { fixture, page, problems, external };
  }

  const machineActors = (fixture: InspectFixture) => [...fixture.actors.values()].filter((a) => a.definition !== undefined);

  const allDrawn = (page: Page, n: number, timeout = 15_000) =>
    page.waitForFunction((count) => document.querySelectorAll('.card[data-drawn]').length === count, n, { timeout });

  const stateOf = (page: Page, name: string) => page.getAttribute(`.card[data-actor-id="${name}"]`, 'data-state');

  const waitForState = (page: Page, name: string, state: string, timeout = 3000) =>
    page.waitForFunction(
      ([n, s]) => document.querySelector(`.card[data-actor-id="${CSS.escape(n!)}"]`)?.getAttribute('data-state') === s,
      [name, state] as const,
      { timeout },
    );

  it('draws the coordinator, its workers, breakers and a fallback chain as the stream says, all from coord', async () => {
    const { fixture, page, problems, external } = await openPage();
    const actors = machineActors(fixture);
    expect(actors.map((a) => a.name)).toEqual(['coordinator', 'w1', 'w2', 'w3', 'w4', 'breaker:worker:w2', 'breaker:command:claude', 'fallback:build#1']);
    await allDrawn(page, actors.length);

    for (const a of actors) expect(await stateOf(page, a.name)).toBe(dotted(a.snapshot.value));
    expect(await page.locator('.card').count()).toBe(actors.length);
    // The active state is highlighted, the others not.
    expect(await page.locator('.card[data-actor-id="w2"] [data-state-node="busy"].active').count()).toBe(1);
    expect(await page.locator('.card[data-actor-id="w2"] [data-state-node="idle"].active').count()).toBe(0);
    expect(await page.locator('.card[data-actor-id="coordinator"] .state-node.active').count()).toBe(1);
    // Every state of every machine is drawn, nested ones too; every target was resolved.
    expect(await page.locator('.card[data-actor-id="w1"] [data-state-node]').evaluateAll((els) => els.map((e) => e.getAttribute('data-state-node')))).toEqual([
      'spawning', 'idle', 'busy', 'hung', 'restarting', 'coolingDown', 'stopping', 'stopping.asking', 'stopping.terminating', 'stopping.killing', 'exited', 'failed',
    ]);
    expect(await page.locator('.card[data-actor-id="coordinator"] [data-state-node="draining.closing"]').count()).toBe(1);
    expect(await page.locator('.card[data-actor-id="breaker:worker:w2"] [data-state-node="halfOpen"]').count()).toBe(1);
    expect(await page.locator('.card[data-actor-id="fallback:build#1"] [data-state-node="exhausted"]').count()).toBe(1);
    expect(await page.locator('.card[data-actor-id="w1"] .edge').count()).toBeGreaterThan(20);
    expect(await page.locator('[data-unresolved-targets], [data-draw-error]').count()).toBe(0);

    // The tree: coordinator at the root, its children below, each worker's process below it.
    const tree = await page.locator('#tree').evaluate((root) => {
      const walk = (ul: PageElement | null): unknown[] =>
        ul ? [...ul.children].map((li) => ({ name: li.querySelector(':scope > .tree-row')!.getAttribute('data-tree-id'), state: li.querySelector(':scope > .tree-row .tree-state')!.textContent, children: walk(li.querySelector(':scope > ul')) })) : [];
      return walk(root.querySelector(':scope > ul'));
    });
    expect(tree).toEqual([
      {
        name: 'coordinator',
        state: 'running',
        children: [
          ...['idle', 'busy', 'busy', 'spawning'].map((state, i) => ({ name: `w${i + 1}`, state, children: [{ name: 'process', state: 'active', children: [] }] })),
          { name: 'breaker:command:claude', state: 'open', children: [] },
          { name: 'breaker:worker:w2', state: 'closed', children: [] },
          { name: 'fallback:build#1', state: 'live', children: [] },
        ],
      },
    ]);

    // 1280×800 without document scrolling.
    const size = await page.evaluate(() => ({ h: document.documentElement.scrollHeight, w: document.documentElement.scrollWidth }));
    expect(size.h).toBeLessThanOrEqual(800);
    expect(size.w).toBeLessThanOrEqual(1280);
    expect(await page.getAttribute('#status', 'data-connection')).toBe('connected');

    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'inspect-4-workers.png') });
    expect(fixture.requests.every((p) => p.startsWith('/inspect'))).toBe(true);
    expect(external).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('follows snapshots live: a worker restarting, nested states, the coordinator draining', async () => {
    const { fixture, page, problems } = await openPage();
    await allDrawn(page, machineActors(fixture).length);

    fixture.transition('w3', { type: 'process.exited', code: 1, signal: null, at: Date.now() }, 'restarting', { pid: null, task: null, restarts: 1 });
    await waitForState(page, 'w3', 'restarting');
    expect(await page.locator('.card[data-actor-id="w3"] [data-state-node="restarting"].active').count()).toBe(1);
    expect(await page.locator('.card[data-actor-id="w3"] .state-node.active').count()).toBe(1);
    expect(await page.locator('.tree-row[data-tree-id="w3"] .tree-state').textContent()).toBe('restarting');
    // The timeline: `time actor event.type → new state`.
    const row = page.locator('#timeline-list .tl-row').first();
    expect(await row.locator('.tl-actor').textContent()).toBe('w3');
    expect(await row.locator('.tl-event').textContent()).toBe('process.exited');
    expect(await row.locator('.tl-state').textContent()).toBe('restarting');
    expect(await page.locator('#timeline-list .tl-row').count()).toBe(1); // the event and its snapshot are one row

    // A nested state: the leaf and its ancestor are active.
    fixture.transition('w1', { type: 'worker.stop' }, { stopping: 'asking' }, undefined, 'coordinator');
    await waitForState(page, 'w1', 'stopping.asking');
    expect(await page.locator('.card[data-actor-id="w1"] .state-node.active').evaluateAll((els) => els.map((e) => e.getAttribute('data-state-node')))).toEqual(['stopping', 'stopping.asking']);
    fixture.setState('w1', { stopping: 'terminating' }, { type: 'xstate.after.shutdownGrace.worker.stopping.asking' });
    await waitForState(page, 'w1', 'stopping.terminating');

    fixture.transition('coordinator', { type: 'coordinator.drain' }, { draining: 'finishing' });
    await waitForState(page, 'coordinator', 'draining.finishing');
    expect(await page.locator('.card[data-actor-id="coordinator"] .state-node.active').evaluateAll((els) => els.map((e) => e.getAttribute('data-state-node')))).toEqual(['draining', 'draining.finishing']);

    // A breaker opening, a fallback chain finishing.
    fixture.transition('breaker:worker:w2', { type: 'call.failed', at: Date.now() }, 'open');
    fixture.setState('fallback:build#1', 'recovered', { type: 'attempt.succeeded' }, undefined, 'done');
    await waitForState(page, 'breaker:worker:w2', 'open');
    await waitForState(page, 'fallback:build#1', 'recovered');
    expect(await page.getAttribute('.card[data-actor-id="fallback:build#1"]', 'data-status')).toBe('done');

    // A worker spawned later gets its card (sharing the workers' layout).
    fixture.spawn({ sessionId: 'x:99', name: 'w5', parentId: fixture.actor('coordinator').sessionId, definition: DEFINITIONS.worker, snapshot: { status: 'active', value: 'spawning', context: { workerId: 'w5' } } });
    await waitForState(page, 'w5', 'spawning');
    await allDrawn(page, machineActors(fixture).length, 3000);
    expect(problems).toEqual([]);
  });

  it('shows an actor\'s context and its last events, newest first, when clicked', async () => {
    const { fixture, page, problems } = await openPage();
    await allDrawn(page, machineActors(fixture).length);
    expect(await page.locator('#panel').isHidden()).toBe(true);

    await page.click('.card[data-actor-id="w2"]');
    await page.waitForFunction(() => document.querySelector('#panel')?.getAttribute('data-actor-id') === 'w2', undefined, { timeout: 3000 });
    const context = JSON.parse((await page.locator('#panel-context').textContent())!);
    expect(context).toMatchObject({ workerId: 'w2', worktree: '/repo/.coord/worktrees/w2', task: { taskId: 'task-2', lease: 'lease-w2-1' } });
    expect(await page.locator('.card[data-actor-id="w2"]').getAttribute('class')).toContain('selected');

    // Events to it and its snapshot changes, newest first; the context follows.
    fixture.transition('w2', { type: 'task.completed', message: { lease: 'lease-w2-1' } }, 'idle', { task: null }, 'coordinator');
    fixture.transition('w2', { type: 'task.assign', message: { taskId: 'task-9', attempt: 1, lease: 'lease-w2-2' } }, 'busy', { task: { taskId: 'task-9', attempt: 1, lease: 'lease-w2-2' } }, 'coordinator');
    fixture.sendEvent('w3', { type: 'task.cancel', reason: 'not w2' });
    // (An event's row can show before the snapshot that completes it: wait for the state.)
    await page.waitForFunction(
      () => document.querySelectorAll('#panel-events li').length === 2 && document.querySelector('#panel-events li .ev-state')?.textContent === '→ busy',
      undefined,
      { timeout: 3000 },
    );
    const events = await page.locator('#panel-events summary').evaluateAll((els) => els.map((e) => [e.querySelector('.ev-type')!.textContent, e.querySelector('.ev-state')?.textContent, e.querySelector('.ev-from')?.textContent]));
    expect(events).toEqual([
      ['task.assign', '→ busy', 'from coordinator'],
      ['task.completed', '→ idle', 'from coordinator'],
    ]);
    await page.waitForFunction(() => document.querySelector('#panel-context')?.textContent?.includes('lease-w2-2'), undefined, { timeout: 3000 });

    // A tree entry selects too.
    await page.click('.tree-row[data-tree-id="breaker:command:claude"]');
    await page.waitForFunction(() => document.querySelector('#panel')?.getAttribute('data-actor-id') === 'breaker:command:claude', undefined, { timeout: 3000 });
    expect(JSON.parse((await page.locator('#panel-context').textContent())!)).toMatchObject({ scope: 'command:claude', consecutiveOpens: 1 });
    // The panel squeezes the grid; the page still does not scroll.
    expect(await page.evaluate(() => document.documentElement.scrollHeight <= 800 && document.documentElement.scrollWidth <= 1280)).toBe(true);
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => document.querySelector('#panel')?.hidden === true, undefined, { timeout: 3000 });
    expect(problems).toEqual([]);
  });

  it('filters the timeline by actor', async () => {
    const { fixture, page, problems } = await openPage();
    await allDrawn(page, machineActors(fixture).length);
    for (let i = 0; i < 3; i++) {
      fixture.transition('w1', { type: 'task.assign', message: { taskId: `t${i}` } }, 'busy');
      fixture.transition('w1', { type: 'task.completed' }, 'idle');
      fixture.transition('w4', { type: 'process.heartbeat', at: i }, 'spawning');
    }
    await page.waitForFunction(() => document.querySelectorAll('#timeline-list .tl-row').length === 9, undefined, { timeout: 3000 });
    await page.selectOption('#filter', 'w4');
    await page.waitForFunction(() => document.querySelectorAll('#timeline-list .tl-row').length === 3, undefined, { timeout: 3000 });
    expect(await page.locator('#timeline-list .tl-actor').evaluateAll((els) => [...new Set(els.map((e) => e.textContent))])).toEqual(['w4']);
    // New events of other actors stay out; of this one, come in.
    fixture.transition('w1', { type: 'task.assign' }, 'busy');
    fixture.transition('w4', { type: 'process.ready', pid: 7 }, 'idle');
    await page.waitForFunction(
      () => document.querySelectorAll('#timeline-list .tl-row').length === 4 && document.querySelector('#timeline-list .tl-row .tl-state')?.textContent === 'idle',
      undefined,
      { timeout: 3000 },
    );
    await page.selectOption('#filter', '');
    await page.waitForFunction(() => document.querySelectorAll('#timeline-list .tl-row').length === 11, undefined, { timeout: 3000 });
    // Clicking an actor's name in the timeline filters by it.
    await page.locator('#timeline-list .tl-actor', { hasText: 'w1' }).first().click();
    await page.waitForFunction(() => document.querySelectorAll('#timeline-list .tl-row').length === 7, undefined, { timeout: 3000 });
    expect(await page.inputValue('#filter')).toBe('w1');
    expect(problems).toEqual([]);
  });

  it('keeps the newest 500 events in the timeline and 50 per actor', async () => {
    const { fixture, page, problems } = await openPage();
    await allDrawn(page, machineActors(fixture).length);
    for (let i = 0; i < 300; i++) {
      fixture.transition('w1', { type: 'task.assign', n: i }, 'busy');
      fixture.transition('w1', { type: 'task.completed', n: i }, 'idle');
    }
    fixture.transition('w2', { type: 'task.completed', last: true }, 'idle');
    await page.waitForFunction(() => document.querySelector('#timeline-list .tl-row .tl-actor')?.textContent === 'w2', undefined, { timeout: 5000 });
    expect(await page.locator('#timeline-list .tl-row').count()).toBe(500);
    expect(await page.locator('#timeline-count').textContent()).toBe('500 events');
    await page.click('.tree-row[data-tree-id="w1"]');
    await page.waitForFunction(() => document.querySelector('#panel')?.getAttribute('data-actor-id') === 'w1', undefined, { timeout: 3000 });
    expect(await page.locator('#panel-events li').count()).toBe(50);
    const newest = await page.locator('#panel-events li pre').first().textContent();
    expect(JSON.parse(newest!)).toEqual({ type: 'task.completed', n: 299 });
    expect(problems).toEqual([]);
  });

  it('replaces its picture with the replay that follows a drop, without duplicating anything', async () => {
    const { fixture, page, problems } = await openPage();
    const before = machineActors(fixture).length;
    await allDrawn(page, before);

    // While the client was behind: w2 finished its task, the fallback chain ended and went away.
    fixture.setStateSilently('w2', 'idle');
    fixture.forgetSilently('fallback:build#1');
    fixture.drop(17);
    await page.waitForFunction(() => document.querySelector('#status')?.getAttribute('data-dropped') === '17', undefined, { timeout: 3000 });
    await waitForState(page, 'w2', 'idle');
    await page.waitForFunction(() => !document.querySelector('.card[data-actor-id="fallback:build#1"]'), undefined, { timeout: 3000 });

    const names = await page.locator('.card').evaluateAll((els) => els.map((e) => e.getAttribute('data-actor-id')));
    expect(names).toHaveLength(before - 1);
    expect(new Set(names).size).toBe(names.length);
    const treeNames = await page.locator('.tree-row').evaluateAll((els) => els.map((e) => e.getAttribute('data-session')));
    expect(new Set(treeNames).size).toBe(treeNames.length);
    expect(treeNames).toHaveLength(fixture.actors.size);
    expect(await page.locator('#dropped').textContent()).toContain('17');

    // A second drop: still one card per actor, and the picture still live.
    fixture.drop(3);
    await page.waitForFunction(() => document.querySelector('#status')?.getAttribute('data-dropped') === '20', undefined, { timeout: 3000 });
    fixture.transition('w3', { type: 'process.exited' }, 'restarting');
    await waitForState(page, 'w3', 'restarting');
    expect(await page.locator('.card').count()).toBe(before - 1);
    expect(problems).toEqual([]);
  });

  it('reconnects after losing the stream, and the replay rebuilds the picture', async () => {
    const { fixture, page } = await openPage();
    const n = machineActors(fixture).length;
    await allDrawn(page, n);

    // While the page is cut off, w4 gets ready: only the replay can tell it.
    let reconnected = fixture.nextConnection();
    fixture.setStateSilently('w4', 'idle');
    fixture.disconnectAll();
    await page.waitForFunction(() => document.querySelector('#status')?.getAttribute('data-connection') === 'reconnecting', undefined, { timeout: 3000 });
    await reconnected;
    await page.waitForFunction(() => document.querySelector('#status')?.getAttribute('data-connection') === 'connected', undefined, { timeout: 5000 });
    await waitForState(page, 'w4', 'idle');
    expect(await page.locator('.card').count()).toBe(n);
    fixture.transition('w4', { type: 'task.assign' }, 'busy');
    await waitForState(page, 'w4', 'busy');

    // coord itself restarted: the same names under new session ids replace the old actors.
    reconnected = fixture.nextConnection();
    fixture.disconnectAll();
    fixture.renumber();
    fixture.setStateSilently('w1', 'spawning');
    await reconnected;
    await waitForState(page, 'w1', 'spawning', 5000);
    await page.waitForFunction((id) => document.querySelector('.card[data-actor-id="coordinator"]')?.getAttribute('data-session-id') === id, fixture.actor('coordinator').sessionId, { timeout: 3000 });
    expect(await page.locator('.card').count()).toBe(n);
    const sessions = await page.locator('.tree-row').evaluateAll((els) => els.map((e) => e.getAttribute('data-session')));
    expect(sessions.sort()).toEqual([...fixture.actors.values()].map((a) => a.sessionId).sort());
    await allDrawn(page, n, 3000);
  });

  it('renders 64 workers, sharing one layout', async () => {
    const started = Date.now();
    const { fixture, page, problems, external } = await openPage({ workers: 64, processes: false });
    const n = machineActors(fixture).length;
    expect(n).toBe(68);
    await allDrawn(page, n, 30_000);
    const ms = Date.now() - started;
    const inPage = await page.evaluate(() => Math.round(performance.now()));
    console.log(`inspector: 64 workers (+ coordinator, 2 breakers, 1 fallback chain): all ${n} cards drawn ${ms} ms after navigation started (${inPage} ms by the page's clock)`);

    for (const a of machineActors(fixture)) expect(await stateOf(page, a.name)).toBe(dotted(a.snapshot.value));
    // One layout per definition (coordinator, worker, breaker, fallback chain), not per actor.
    expect(await page.getAttribute('#status', 'data-layouts')).toBe('4');
    // Same definition, same drawing: the workers' charts are identical.
    const charts = await page.locator('.card svg.chart').evaluateAll((els) => els.map((e) => `${e.getAttribute('data-machine')} ${e.getAttribute('viewBox')}`));
    expect(new Set(charts.filter((c) => c.startsWith('worker '))).size).toBe(1);
    // The grid scrolls, the page does not.
    expect(await page.evaluate(() => document.documentElement.scrollHeight <= 800)).toBe(true);
    expect(await page.locator('#grid').evaluate((g) => g.scrollHeight > g.clientHeight)).toBe(true);

    fixture.transition('w64', { type: 'process.exited' }, 'restarting');
    await waitForState(page, 'w64', 'restarting');
    expect(external).toEqual([]);
    expect(problems).toEqual([]);
  });
});
