// coord inspector: the page. Reads the inspection stream (src/inspect/types.ts), keeps a
// picture of the live actors, and draws it: the actor tree, one statechart card per machine,
// a side panel for the selected actor, and a timeline of events.
//
// Contract for tests and scripts: every drawn actor's card is `.card[data-actor-id=<name>]`
// with `data-state=<dotted state value>` (kept current), `data-status`, `data-session-id`
// and, once its chart is drawn, `data-drawn`; every state box is
// `[data-state-node=<dotted path>]`, with class `active` while active. `#status` carries
// `data-connection` (connecting | connected | reconnecting) and `data-messages`.

import { activePaths, formatStateValue, parseDefinition, renderSvg, toElkGraph } from './chart.js';
import { connectStream, streamUrl } from './stream.js';

const ACTOR_EVENTS = 50;
const TIMELINE_CAP = 500;
const CARD_MIN_W = 220;
const CARD_MIN_H = 150;
const CARD_SCROLL_H = 190;
const GRID_GAP = 8;
const GRID_PAD = 8;
/** The shape of card the grid prefers (width / height): the charts are laid out top to bottom. */
const CARD_ASPECT = 1.1;

const $ = (sel) => document.querySelector(sel);
const el = (tag, props = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('data-') || k === 'title' || k === 'tabindex' || k === 'type' || k === 'role' || k === 'aria-label') e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
};

// ---------------------------------------------------------------------------------------------
// State

/** sessionId → actor: `{ sessionId, name, parentId, definition, snapshot, gen, events, pending, card, cardState }`. */
const actors = new Map();
/** The newest events of all actors, oldest first (capped). */
const timeline = [];
const stats = { messages: 0, dropped: 0, drops: 0, badFrames: 0, connection: 'connecting', attempt: 0, delayMs: 0 };
/** Picture generation: bumped when a replay starts; `coord.replayed` removes actors not seen in it. */
let generation = 0;
let replaying = true;
let selected = null; // sessionId
let filter = ''; // actor name, '' for all
let entrySeq = 0;

const dirty = { structure: true, actors: new Set(), timeline: false, timelineFull: true, panel: true, status: true };
let renderScheduled = false;

function scheduleRender() {
  if (renderScheduled) return;
  renderScheduled = true;
  const run = () => {
    renderScheduled = false;
    render();
  };
  // rAF stops in a hidden tab; a timer keeps the picture current there (cheaply).
  if (document.visibilityState === 'visible') requestAnimationFrame(run);
  else setTimeout(run, 250);
}

const nameOf = (sessionId) => (sessionId === undefined || sessionId === null ? '' : actors.get(sessionId)?.name ?? String(sessionId));
const timeOf = (msg) => {
  const t = Number(msg.createdAt);
  return Number.isFinite(t) && t > 0 ? t : Date.now();
};

function formatTime(t) {
  const d = new Date(t);
  const p = (n, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

function stateText(snapshot) {
  if (!snapshot) return '';
  const v = formatStateValue(snapshot.value);
  return v || snapshot.status || '';
}

// ---------------------------------------------------------------------------------------------
// Messages

function onMessage(msg) {
  stats.messages += 1;
  dirty.status = true;
  switch (msg.type) {
    case '@xstate.actor':
      upsertActor(msg);
      break;
    case '@xstate.snapshot':
      onSnapshot(msg);
      break;
    case '@xstate.event':
      onEvent(msg);
      break;
    case 'coord.replayed':
      sweep();
      break;
    case 'coord.dropped':
      stats.dropped += Number(msg.count) || 0;
      stats.drops += 1;
      beginReplay();
      break;
    default:
      break;
  }
  scheduleRender();
}

function beginReplay() {
  generation += 1;
  replaying = true;
  document.body.classList.add('replaying');
}

/** The replay is over: actors it did not mention are gone. */
function sweep() {
  for (const [id, a] of actors) if (a.gen < generation) removeActor(id);
  replaying = false;
  document.body.classList.remove('replaying', 'stale');
  dirty.structure = true;
}

function removeActor(sessionId) {
  const a = actors.get(sessionId);
  if (!a) return;
  if (a.card) a.card.remove();
  actors.delete(sessionId);
  if (selected === sessionId) {
    selected = null;
    dirty.panel = true;
  }
  dirty.structure = true;
}

function upsertActor(msg) {
  const sessionId = String(msg.sessionId);
  const name = typeof msg.name === 'string' && msg.name ? msg.name : sessionId;
  // One card per name: an older actor of the same name (from before a replay, or stopped) gives way.
  for (const [id, other] of actors) {
    if (id !== sessionId && other.name === name && (other.gen < generation || other.snapshot?.status !== 'active')) removeActor(id);
  }
  let a = actors.get(sessionId);
  if (!a) {
    a = { sessionId, name, events: [], pending: [], card: null, cardState: null };
    actors.set(sessionId, a);
    dirty.structure = true;
  }
  if (a.name !== name || a.parentId !== msg.parentId) dirty.structure = true;
  a.name = name;
  a.parentId = msg.parentId === undefined || msg.parentId === null ? undefined : String(msg.parentId);
  if (typeof msg.definition === 'string' && msg.definition !== a.definition) {
    a.definition = msg.definition;
    if (a.card) {
      a.card.remove();
      a.card = null;
    }
    dirty.structure = true;
  }
  a.snapshot = msg.snapshot || a.snapshot || { status: 'active' };
  a.gen = generation;
  dirty.actors.add(sessionId);
  if (selected === sessionId) dirty.panel = true;
}

function pushEntry(a, entry) {
  a.events.push(entry);
  if (a.events.length > ACTOR_EVENTS) a.events.splice(0, a.events.length - ACTOR_EVENTS);
  timeline.push(entry);
  if (timeline.length > TIMELINE_CAP) {
    const gone = timeline.splice(0, timeline.length - TIMELINE_CAP);
    for (const g of gone) if (g.row) g.row.remove();
  }
  dirty.timeline = true;
  if (selected === a.sessionId) dirty.panel = true;
}

function onEvent(msg) {
  const sessionId = String(msg.sessionId);
  const a = actors.get(sessionId) || { sessionId, name: sessionId, events: [], pending: [], orphan: true };
  const event = msg.event && typeof msg.event === 'object' ? msg.event : { type: String(msg.event) };
  const entry = { seq: ++entrySeq, t: timeOf(msg), sessionId, actor: a.name, type: String(event.type), event, from: nameOf(msg.sourceId), state: undefined, kind: 'event' };
  pushEntry(a, entry);
  a.pending.push(entry);
  if (a.pending.length > 20) a.pending.shift();
}

function onSnapshot(msg) {
  const sessionId = String(msg.sessionId);
  const a = actors.get(sessionId);
  const event = msg.event && typeof msg.event === 'object' ? msg.event : { type: String(msg.event ?? '') };
  const state = stateText(msg.snapshot);
  if (!a) {
    // Not (yet) in the picture: a replay will bring it. Keep the event for the timeline.
    timeline.push({ seq: ++entrySeq, t: timeOf(msg), sessionId, actor: sessionId, type: String(event.type), event, state, kind: 'snapshot' });
    if (timeline.length > TIMELINE_CAP) timeline.splice(0, timeline.length - TIMELINE_CAP).forEach((g) => g.row && g.row.remove());
    dirty.timeline = true;
    return;
  }
  a.snapshot = msg.snapshot || a.snapshot;
  dirty.actors.add(sessionId);
  // The snapshot after an `@xstate.event` completes that event's entry (`event → state`).
  const i = a.pending.findIndex((p) => p.type === String(event.type));
  if (i >= 0) {
    const entry = a.pending[i];
    a.pending.splice(0, i + 1);
    entry.state = state;
    entry.changed = true;
    dirty.timeline = true;
    if (selected === sessionId) dirty.panel = true;
  } else {
    pushEntry(a, { seq: ++entrySeq, t: timeOf(msg), sessionId, actor: a.name, type: String(event.type), event, state, kind: 'snapshot' });
  }
  if (selected === sessionId) dirty.panel = true;
}

// ---------------------------------------------------------------------------------------------
// Layout (ELK), cached by definition string

const layoutCache = new Map();
let elk = null;
const measureCanvas = document.createElement('canvas').getContext('2d');
const measureCache = new Map();
function measure(text, font) {
  const key = `${font}\u0000${text}`;
  let w = measureCache.get(key);
  if (w === undefined) {
    measureCanvas.font = font;
    w = measureCanvas.measureText(text).width;
    measureCache.set(key, w);
  }
  return w;
}

/** Lays out one definition; cached, so actors that share a definition share one layout. */
function layoutFor(definition) {
  let p = layoutCache.get(definition);
  if (p) return p;
  p = (async () => {
    if (!elk) {
      if (typeof window.ELK !== 'function') throw new Error('ELK is not loaded (/inspect/assets/elk.bundled.js)');
      elk = new window.ELK();
    }
    const model = parseDefinition(definition);
    const laid = await elk.layout(toElkGraph(model, measure));
    const { svg, width, height } = renderSvg(document, model, laid);
    return { model, svg, width, height };
  })();
  layoutCache.set(definition, p);
  $('#status').dataset.layouts = String(layoutCache.size);
  return p;
}

// ---------------------------------------------------------------------------------------------
// Rendering

/** The actors as a forest (children by parentId), each level in a stable, readable order. */
function forest() {
  const children = new Map();
  const roots = [];
  for (const a of actors.values()) {
    const parent = a.parentId !== undefined && actors.has(a.parentId) ? a.parentId : null;
    if (parent === null) roots.push(a);
    else {
      if (!children.has(parent)) children.set(parent, []);
      children.get(parent).push(a);
    }
  }
  const rank = (a) => (a.name === 'coordinator' ? 0 : /^breaker:/.test(a.name) ? 2 : /^fallback:/.test(a.name) ? 3 : a.definition === undefined ? 4 : 1);
  const order = (list) => list.sort((x, y) => rank(x) - rank(y) || x.name.localeCompare(y.name, undefined, { numeric: true }));
  order(roots);
  for (const list of children.values()) order(list);
  return { roots, children };
}

function render() {
  if (dirty.structure) renderStructure();
  for (const id of dirty.actors) {
    const a = actors.get(id);
    if (a) renderActor(a);
  }
  dirty.actors.clear();
  if (dirty.timeline || dirty.timelineFull) renderTimeline();
  if (dirty.panel) renderPanel();
  if (dirty.status) renderStatus();
}

function renderStructure() {
  dirty.structure = false;
  const { roots, children } = forest();
  const tree = $('#tree');
  const grid = $('#grid');
  const ordered = [];
  const build = (list, depth) => {
    const ul = el('ul', { class: depth === 0 ? 'tree-root' : 'tree-children' });
    for (const a of list) {
      ordered.push(a);
      const row = el(
        'div',
        { class: 'tree-row', 'data-tree-id': a.name, 'data-session': a.sessionId, tabindex: '0', role: 'button', title: `${a.name} (${a.sessionId})` },
        el('span', { class: 'tree-name', text: a.name }),
        el('span', { class: 'tree-state' }),
      );
      a.treeRow = row;
      const li = el('li', {}, row);
      const kids = children.get(a.sessionId);
      if (kids && kids.length) li.append(build(kids, depth + 1));
      ul.append(li);
    }
    return ul;
  };
  tree.replaceChildren(build(roots, 0));
  for (const a of ordered) {
    if (a.definition === undefined) continue;
    if (!a.card) createCard(a);
    grid.append(a.card); // re-appending keeps the order of the tree
    dirty.actors.add(a.sessionId);
  }
  for (const a of actors.values()) dirty.actors.add(a.sessionId);
  $('#empty').hidden = actors.size > 0;
  $('#actor-count').textContent = `${actors.size} actor${actors.size === 1 ? '' : 's'}`;
  renderFilterOptions(ordered);
  fitGrid();
  dirty.panel = true;
}

function createCard(a) {
  const card = el(
    'article',
    { class: 'card', 'data-actor-id': a.name, 'data-session-id': a.sessionId, tabindex: '0' },
    el(
      'header',
      { class: 'card-head' },
      el('span', { class: 'card-name', text: a.name }),
      el('span', { class: 'card-state' }),
      el('button', { class: 'card-expand', type: 'button', title: 'Enlarge', 'aria-label': 'Enlarge', text: '⤢' }),
    ),
    el('div', { class: 'chart-box' }, el('p', { class: 'chart-wait', text: 'laying out…' })),
  );
  a.card = card;
  a.cardState = null;
  const definition = a.definition;
  layoutFor(definition).then(
    (layout) => {
      if (a.card !== card || a.definition !== definition) return;
      const svg = layout.svg.cloneNode(true);
      const box = card.querySelector('.chart-box');
      box.replaceChildren(svg);
      card.style.setProperty('--chart-w', `${layout.width}px`);
      card.style.setProperty('--chart-h', `${layout.height}px`);
      if (layout.model.unresolved.length) {
        card.dataset.unresolvedTargets = layout.model.unresolved.map((u) => `${u.source || '(root)'}→${u.target}`).join(' ');
      }
      a.cardState = {
        width: layout.width,
        height: layout.height,
        nodes: [...svg.querySelectorAll('[data-state-node]')].map((n) => [n.getAttribute('data-state-node'), n]),
        edges: [...svg.querySelectorAll('[data-source]')].map((n) => [n.getAttribute('data-source'), n]),
        active: null,
      };
      card.dataset.drawn = '';
      scaleCard(a);
      renderActor(a);
    },
    (err) => {
      if (a.card !== card) return;
      card.querySelector('.chart-box').replaceChildren(el('p', { class: 'chart-error', text: `cannot draw this machine: ${err && err.message ? err.message : err}` }));
      card.dataset.drawError = '';
      console.error('coord inspector: cannot draw', a.name, err);
    },
  );
}

function renderActor(a) {
  const text = stateText(a.snapshot);
  const dotted = formatStateValue(a.snapshot?.value);
  const status = a.snapshot?.status || 'active';
  if (a.treeRow) {
    a.treeRow.querySelector('.tree-state').textContent = text;
    a.treeRow.classList.toggle('selected', selected === a.sessionId);
    a.treeRow.dataset.status = status;
  }
  const card = a.card;
  if (!card) return;
  if (card.dataset.state !== dotted) card.dataset.state = dotted;
  if (card.dataset.status !== status) card.dataset.status = status;
  card.classList.toggle('selected', selected === a.sessionId);
  const head = card.querySelector('.card-state');
  const headText = status === 'active' ? text : `${text} (${status})`;
  if (head.textContent !== headText) head.textContent = headText;
  const cs = a.cardState;
  if (!cs) return;
  const key = `${status}|${dotted}`;
  if (cs.active === key) return;
  cs.active = key;
  const on = new Set(activePaths(a.snapshot?.value));
  for (const [path, node] of cs.nodes) node.classList.toggle('active', on.has(path));
  for (const [source, edge] of cs.edges) edge.classList.toggle('live', on.has(source));
}

/** The size of a card's chart box, as fitGrid() last made it. */
const cardBox = { w: 0, h: 0 };
/** Below this scale edge labels are unreadable: they are hidden (an enlarged card shows them). */
const TINY_SCALE = 0.42;

function scaleCard(a) {
  const cs = a.cardState;
  if (!cs || !a.card || cardBox.w <= 0) return;
  const scale = Math.min(cardBox.w / cs.width, cardBox.h / cs.height);
  a.card.classList.toggle('tiny', scale < TINY_SCALE);
}

/** Cards as large as the area allows while they fit; below a minimum size the grid scrolls. */
function fitGrid() {
  const grid = $('#grid');
  const n = grid.childElementCount;
  if (n === 0) return;
  const W = grid.clientWidth - 2 * GRID_PAD;
  const H = grid.clientHeight - 2 * GRID_PAD;
  let best = null;
  for (let cols = 1; cols <= n; cols++) {
    const rows = Math.ceil(n / cols);
    const cw = (W - GRID_GAP * (cols - 1)) / cols;
    const ch = (H - GRID_GAP * (rows - 1)) / rows;
    if (cw < CARD_MIN_W || ch < CARD_MIN_H) continue;
    const score = Math.min(cw / CARD_ASPECT, ch);
    if (best === null || score > best.score) best = { cols, ch, score };
  }
  let cols;
  let ch;
  if (best) {
    cols = best.cols;
    ch = Math.floor(best.ch);
  } else {
    cols = Math.max(1, Math.floor((W + GRID_GAP) / (CARD_MIN_W + GRID_GAP)));
    ch = CARD_SCROLL_H;
  }
  grid.style.setProperty('--cols', String(cols));
  grid.style.setProperty('--card-h', `${ch}px`);
  // Less the card's border, header and chart-box padding.
  cardBox.w = (W - GRID_GAP * (cols - 1)) / cols - 10;
  cardBox.h = ch - 34;
  for (const a of actors.values()) scaleCard(a);
}

function renderFilterOptions(ordered) {
  const select = $('#filter');
  const names = ordered.map((a) => a.name);
  if (filter && !names.includes(filter)) names.push(filter);
  const current = [...select.options].map((o) => o.value).slice(1);
  if (current.length === names.length && current.every((v, i) => v === names[i])) return;
  select.replaceChildren(el('option', { value: '', text: 'all actors' }), ...names.map((n) => el('option', { value: n, text: n })));
  select.value = filter;
}

function timelineRow(entry) {
  const row = el(
    'div',
    { class: `tl-row kind-${entry.kind}`, 'data-actor': entry.actor, title: entry.from ? `from ${entry.from}` : '' },
    el('time', { text: formatTime(entry.t) }),
    el('span', { class: 'tl-actor', text: entry.actor }),
    el('span', { class: 'tl-event', text: entry.type }),
    el('span', { class: 'tl-arrow', text: '→' }),
    el('span', { class: 'tl-state', text: entry.state ?? '…' }),
  );
  entry.row = row;
  entry.changed = false;
  return row;
}

let timelineSeq = 0; // the newest entry already shown
function renderTimeline() {
  const list = $('#timeline-list');
  const matches = (e) => filter === '' || e.actor === filter;
  if (dirty.timelineFull) {
    for (const e of timeline) e.row = null;
    const rows = [];
    for (let i = timeline.length - 1; i >= 0; i--) if (matches(timeline[i])) rows.push(timelineRow(timeline[i]));
    list.replaceChildren(...rows);
  } else {
    const fresh = [];
    for (let i = timeline.length - 1; i >= 0 && timeline[i].seq > timelineSeq; i--) if (matches(timeline[i])) fresh.push(timelineRow(timeline[i]));
    if (fresh.length) list.prepend(...fresh);
    for (const e of timeline) {
      if (e.changed && e.row) {
        e.row.querySelector('.tl-state').textContent = e.state ?? '…';
        e.changed = false;
      }
    }
    while (list.childElementCount > TIMELINE_CAP) list.lastElementChild.remove();
  }
  timelineSeq = timeline.length ? timeline[timeline.length - 1].seq : timelineSeq;
  dirty.timeline = false;
  dirty.timelineFull = false;
  $('#timeline-count').textContent = `${timeline.length} event${timeline.length === 1 ? '' : 's'}${filter ? ` (${filter})` : ''}`;
}

function renderPanel() {
  dirty.panel = false;
  const panel = $('#panel');
  const a = selected !== null ? actors.get(selected) : undefined;
  for (const other of actors.values()) {
    if (other.treeRow) other.treeRow.classList.toggle('selected', other.sessionId === selected);
    if (other.card) other.card.classList.toggle('selected', other.sessionId === selected);
  }
  const wasHidden = panel.hidden;
  if (!a) {
    panel.hidden = true;
    if (!wasHidden) fitGrid();
    return;
  }
  panel.hidden = false;
  panel.dataset.actorId = a.name;
  $('#panel-name').textContent = a.name;
  const status = a.snapshot?.status || 'active';
  $('#panel-meta').replaceChildren(
    el('dt', { text: 'state' }), el('dd', { class: 'panel-state', text: stateText(a.snapshot) || '—' }),
    el('dt', { text: 'status' }), el('dd', { text: status }),
    el('dt', { text: 'session' }), el('dd', { text: a.sessionId }),
    el('dt', { text: 'parent' }), el('dd', { text: a.parentId === undefined ? '—' : nameOf(a.parentId) }),
  );
  let ctx;
  try {
    ctx = a.snapshot && 'context' in a.snapshot ? JSON.stringify(a.snapshot.context, null, 2) : '(no context)';
  } catch {
    ctx = '(context cannot be shown)';
  }
  if (ctx === undefined) ctx = '(no context)';
  const pre = $('#panel-context');
  if (pre.textContent !== ctx) pre.textContent = ctx;
  // Payloads opened by the user stay open when new events come in.
  const openSeqs = new Set([...document.querySelectorAll('#panel-events details[open]')].map((d) => d.closest('li').getAttribute('data-seq')));
  const items = [];
  for (let i = a.events.length - 1; i >= 0; i--) {
    const e = a.events[i];
    let payload;
    try {
      payload = JSON.stringify(e.event, null, 2);
    } catch {
      payload = '';
    }
    items.push(
      el(
        'li',
        { class: `kind-${e.kind}`, 'data-seq': String(e.seq) },
        el(
          'details',
          { open: openSeqs.has(String(e.seq)) },
          el(
            'summary',
            {},
            el('time', { text: formatTime(e.t) }),
            el('span', { class: 'ev-type', text: e.type }),
            e.state !== undefined ? el('span', { class: 'ev-state', text: `→ ${e.state}` }) : null,
            e.from ? el('span', { class: 'ev-from', text: `from ${e.from}` }) : null,
          ),
          el('pre', { text: payload }),
        ),
      ),
    );
  }
  $('#panel-events').replaceChildren(...items);
  $('#panel-events-count').textContent = `${a.events.length}`;
  if (wasHidden) fitGrid();
}

function renderStatus() {
  dirty.status = false;
  const status = $('#status');
  status.dataset.connection = stats.connection;
  status.dataset.messages = String(stats.messages);
  status.dataset.dropped = String(stats.dropped);
  const conn = $('#conn');
  conn.className = `conn ${stats.connection}`;
  conn.textContent =
    stats.connection === 'connected'
      ? replaying
        ? 'connected (replaying…)'
        : 'connected'
      : stats.connection === 'reconnecting'
        ? `reconnecting${stats.delayMs ? ` in ${(stats.delayMs / 1000).toFixed(1)} s` : '…'} (attempt ${stats.attempt})`
        : 'connecting…';
  $('#msgs').textContent = `${stats.messages} message${stats.messages === 1 ? '' : 's'}`;
  $('#dropped').textContent = stats.drops ? `${stats.dropped} dropped (${stats.drops}×)` : '0 dropped';
  $('#dropped').classList.toggle('warn', stats.drops > 0);
  $('#bad').hidden = stats.badFrames === 0;
  $('#bad').textContent = `${stats.badFrames} unreadable`;
}

// ---------------------------------------------------------------------------------------------
// Interaction

function select(sessionId) {
  selected = sessionId !== null && actors.has(sessionId) ? sessionId : null;
  dirty.panel = true;
  for (const a of actors.values()) dirty.actors.add(a.sessionId);
  scheduleRender();
}

function setFilter(name) {
  filter = name;
  $('#filter').value = name;
  dirty.timelineFull = true;
  scheduleRender();
}

function sessionFromEvent(ev) {
  const card = ev.target.closest('.card');
  if (card) return card.getAttribute('data-session-id');
  const row = ev.target.closest('.tree-row');
  if (row) return row.getAttribute('data-session');
  return null;
}

function wire() {
  $('#grid').addEventListener('click', (ev) => {
    const expand = ev.target.closest('.card-expand');
    if (expand) {
      const card = expand.closest('.card');
      const on = !card.classList.contains('expanded');
      for (const c of document.querySelectorAll('.card.expanded')) c.classList.remove('expanded');
      card.classList.toggle('expanded', on);
      expand.title = on ? 'Back to the grid' : 'Enlarge';
      ev.stopPropagation();
      return;
    }
    const id = sessionFromEvent(ev);
    if (id) select(id);
  });
  $('#tree').addEventListener('click', (ev) => {
    const id = sessionFromEvent(ev);
    if (id) select(id);
  });
  for (const sel of ['#grid', '#tree']) {
    $(sel).addEventListener('keydown', (ev) => {
      if (ev.key !== 'Enter' && ev.key !== ' ') return;
      const id = sessionFromEvent(ev);
      if (id) {
        ev.preventDefault();
        select(id);
      }
    });
  }
  $('#panel-close').addEventListener('click', () => select(null));
  document.addEventListener('keydown', (ev) => {
    if (ev.key !== 'Escape') return;
    const expanded = document.querySelector('.card.expanded');
    if (expanded) expanded.classList.remove('expanded');
    else select(null);
  });
  $('#filter').addEventListener('change', (ev) => setFilter(ev.target.value));
  $('#timeline-list').addEventListener('click', (ev) => {
    const actor = ev.target.closest('.tl-actor');
    if (actor) setFilter(filter === actor.textContent ? '' : actor.textContent);
  });
  new ResizeObserver(() => fitGrid()).observe($('#grid'));
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && !renderScheduled) scheduleRender();
  });
}

// ---------------------------------------------------------------------------------------------

wire();
renderStatus();
connectStream(streamUrl(), {
  onOpen() {
    // A fresh connection starts with a replay of every live actor: it replaces the picture.
    beginReplay();
    dirty.status = true;
    scheduleRender();
  },
  onClose() {
    document.body.classList.add('stale');
  },
  onMessage,
  onBadFrame() {
    stats.badFrames += 1;
    dirty.status = true;
    scheduleRender();
  },
  onStatus(s) {
    stats.connection = s.state;
    stats.attempt = s.attempt;
    stats.delayMs = s.delayMs || 0;
    dirty.status = true;
    scheduleRender();
  },
});
