// coord inspector: a machine definition (the JSON of its createMachine config) as a statechart.
//
// parseDefinition() reads the config into states and transitions (pure, no DOM);
// toElkGraph() makes the graph ELK lays out; renderSvg() draws ELK's result. app.js caches
// the laid-out SVG by definition string, so machines that share a definition share a layout.

const SVG_NS = 'http://www.w3.org/2000/svg';

const toArray = (v) => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);

/** The name of an invoked actor's source: a string, or `{type}` once a function was serialized. */
function srcName(invoke) {
  const src = invoke && invoke.src;
  if (typeof src === 'string') return src;
  if (src && typeof src === 'object' && typeof src.type === 'string' && src.type) return src.type;
  if (invoke && typeof invoke.id === 'string') return invoke.id;
  return 'actor';
}

/** The label of an `after` key: `after 5000` for a number of ms, `after spawnTimeout` for a named delay. */
export function delayLabel(key) {
  return `after ${key}`;
}

/**
 * Reads a machine config (already JSON.parse'd or a JSON string) into
 * `{ id, root, nodes: Map<path, node>, edges, unresolved }`. A node is
 * `{ path, key, type, initial, children, parent, invokes, id }` (root path ''); an edge is
 * `{ id, source, target, labels }`, one per source/target pair, with the events that take it.
 */
export function parseDefinition(definition) {
  const config = typeof definition === 'string' ? JSON.parse(definition) : definition;
  const machineId = typeof config.id === 'string' && config.id ? config.id : '(machine)';
  const nodes = new Map();
  const byId = new Map();

  const build = (cfg, key, parent) => {
    const path = parent === null ? '' : parent.path === '' ? key : `${parent.path}.${key}`;
    const childKeys = cfg.states && typeof cfg.states === 'object' ? Object.keys(cfg.states) : [];
    let type = typeof cfg.type === 'string' ? cfg.type : childKeys.length > 0 ? 'compound' : 'atomic';
    if (type === 'compound' && childKeys.length === 0) type = 'atomic';
    const node = {
      path,
      key: parent === null ? machineId : key,
      type,
      parent,
      children: [],
      childByKey: new Map(),
      initial: null,
      invokes: toArray(cfg.invoke).map(srcName),
      config: cfg,
      id: typeof cfg.id === 'string' && cfg.id ? cfg.id : parent === null ? machineId : `${machineId}.${path}`,
    };
    nodes.set(path, node);
    byId.set(node.id, node);
    if (parent === null) byId.set(machineId, node);
    for (const k of childKeys) {
      const child = build(cfg.states[k] || {}, k, node);
      node.children.push(child);
      node.childByKey.set(k, child);
    }
    if (node.type === 'compound') {
      const initial = typeof cfg.initial === 'string' ? cfg.initial : cfg.initial && typeof cfg.initial.target === 'string' ? cfg.initial.target : null;
      node.initial = initial !== null && node.childByKey.has(initial) ? initial : node.children[0]?.key ?? null;
    }
    return node;
  };
  const root = build(config, '', null);

  const walk = (from, segments) => {
    let node = from;
    for (const seg of segments) {
      if (seg === '') continue;
      node = node.childByKey.get(seg);
      if (!node) return null;
    }
    return node;
  };

  /** XState v5's resolution: `#id.a.b` by id, `.child` inside the source, else among the source's siblings. */
  const resolve = (source, target) => {
    if (target.startsWith('#')) {
      const segments = target.slice(1).split('.');
      for (let n = segments.length; n > 0; n--) {
        const base = byId.get(segments.slice(0, n).join('.'));
        if (base) return walk(base, segments.slice(n));
      }
      return null;
    }
    if (target.startsWith('.')) return walk(source, target.slice(1).split('.'));
    // From the root, XState wants `.child`; accept the bare key too rather than draw nothing.
    return walk(source.parent ?? source, target.split('.'));
  };

  const edges = [];
  const edgeByPair = new Map();
  const unresolved = [];
  const addTransitions = (source, label, transitions) => {
    for (const t of toArray(transitions)) {
      const targets = typeof t === 'string' ? [t] : t && typeof t === 'object' ? toArray(t.target) : [];
      for (const target of targets) {
        if (typeof target !== 'string' || target === '') continue;
        const node = resolve(source, target);
        if (!node) {
          unresolved.push({ source: source.path, target, label });
          continue;
        }
        const pair = `${source.path}\u0000${node.path}`;
        let edge = edgeByPair.get(pair);
        if (!edge) {
          edge = { id: `e${edges.length}`, source: source.path, target: node.path, labels: [] };
          edgeByPair.set(pair, edge);
          edges.push(edge);
        }
        if (!edge.labels.includes(label)) edge.labels.push(label);
      }
    }
  };

  for (const node of nodes.values()) {
    const cfg = node.config;
    if (cfg.on && typeof cfg.on === 'object') {
      for (const [event, t] of Object.entries(cfg.on)) addTransitions(node, event, t);
    }
    if (cfg.after && typeof cfg.after === 'object') {
      for (const [delay, t] of Object.entries(cfg.after)) addTransitions(node, delayLabel(delay), t);
    }
    if (cfg.always !== undefined) addTransitions(node, 'always', cfg.always);
    if (cfg.onDone !== undefined) addTransitions(node, 'done', cfg.onDone);
    for (const inv of toArray(cfg.invoke)) {
      const name = srcName(inv);
      if (inv && inv.onDone !== undefined) addTransitions(node, `done: ${name}`, inv.onDone);
      if (inv && inv.onError !== undefined) addTransitions(node, `error: ${name}`, inv.onError);
      if (inv && inv.onSnapshot !== undefined) addTransitions(node, `snapshot: ${name}`, inv.onSnapshot);
    }
  }
  return { id: machineId, root, nodes, edges, unresolved };
}

/**
 * The dotted paths a state value makes active: `'busy'` → `['busy']`,
 * `{ stopping: 'asking' }` → `['stopping', 'stopping.asking']`; parallel regions give all.
 */
export function activePaths(value, prefix = '') {
  const out = [];
  if (typeof value === 'string') {
    out.push(prefix ? `${prefix}.${value}` : value);
  } else if (value && typeof value === 'object') {
    for (const [key, sub] of Object.entries(value)) {
      const path = prefix ? `${prefix}.${key}` : key;
      out.push(path);
      out.push(...activePaths(sub, path));
    }
  }
  return out;
}

/** The leaf paths of a state value, dotted and comma-joined: `{ busy: 'running' }` → `busy.running`. */
export function formatStateValue(value) {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'object') return String(value);
  const leaves = [];
  const visit = (v, prefix) => {
    if (typeof v === 'string') leaves.push(prefix ? `${prefix}.${v}` : v);
    else if (v && typeof v === 'object') {
      const entries = Object.entries(v);
      if (entries.length === 0 && prefix) leaves.push(prefix);
      for (const [k, sub] of entries) visit(sub, prefix ? `${prefix}.${k}` : k);
    } else if (prefix) leaves.push(prefix);
  };
  visit(value, '');
  return leaves.join(',');
}

// ---------------------------------------------------------------------------------------------
// ELK graph

const FONT_STATE = '600 12px system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';
const FONT_SMALL = '10px system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';
export const FONTS = { state: FONT_STATE, small: FONT_SMALL };
const LABEL_LINE = 12;
const STATE_H = 28;
const INVOKE_LINE = 12;
const COMPOUND_TOP = 24;
const INITIAL_DOT = 8;

const nodeId = (path) => `n:${path}`;
const initialId = (path) => `i:${path}`;

/** The ELK graph of a parsed definition; `measure(text, font)` gives a text's width in px. */
export function toElkGraph(model, measure) {
  const elkNodes = new Map();
  const make = (node) => {
    const isContainer = node.children.length > 0;
    const el = { id: nodeId(node.path), children: [], edges: [] };
    if (isContainer) {
      el.layoutOptions = {
        'elk.padding': `[top=${COMPOUND_TOP},left=10,bottom=10,right=10]`,
        'elk.nodeSize.constraints': 'MINIMUM_SIZE',
        'elk.nodeSize.minimum': `(${Math.ceil(measure(node.key, FONT_STATE) + 24)}, 40)`,
      };
      if (node.type === 'compound' && node.initial !== null) {
        el.children.push({ id: initialId(node.path), width: INITIAL_DOT, height: INITIAL_DOT });
      }
      for (const child of node.children) el.children.push(make(child));
    } else {
      const invokeText = node.invokes.length ? `invoke ${node.invokes.join(', ')}` : '';
      const w = Math.max(measure(node.key, FONT_STATE) + 24, invokeText ? measure(invokeText, FONT_SMALL) + 16 : 0, 54);
      el.width = Math.ceil(w);
      el.height = STATE_H + (invokeText ? INVOKE_LINE : 0);
    }
    elkNodes.set(node.path, el);
    return el;
  };
  const rootEl = make(model.root);
  rootEl.layoutOptions = {
    'elk.algorithm': 'layered',
    'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
    // Top to bottom, in the order the states are declared (a machine's config usually reads
    // from its initial state onwards): far more readable than ELK's own cycle breaking.
    'elk.direction': 'DOWN',
    'elk.layered.cycleBreaking.strategy': 'MODEL_ORDER',
    'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
    'elk.edgeRouting': 'ORTHOGONAL',
    'elk.padding': '[top=8,left=8,bottom=8,right=8]',
    'elk.spacing.nodeNode': '14',
    'elk.spacing.edgeNode': '8',
    'elk.spacing.edgeEdge': '5',
    'elk.spacing.edgeLabel': '2',
    'elk.layered.spacing.nodeNodeBetweenLayers': '26',
    'elk.layered.spacing.edgeNodeBetweenLayers': '8',
    'elk.layered.spacing.edgeEdgeBetweenLayers': '5',
    'elk.layered.nodePlacement.strategy': 'NETWORK_SIMPLEX',
    'elk.layered.crossingMinimization.strategy': 'LAYER_SWEEP',
  };
  delete rootEl.width;
  delete rootEl.height;

  const isAncestor = (a, b) => a === '' || b === a || b.startsWith(`${a}.`);
  const lca = (a, b) => {
    const pa = a === '' ? [] : a.split('.');
    const pb = b === '' ? [] : b.split('.');
    const out = [];
    for (let i = 0; i < Math.min(pa.length, pb.length) && pa[i] === pb[i]; i++) out.push(pa[i]);
    return out.join('.');
  };
  const parentPath = (p) => (p.includes('.') ? p.slice(0, p.lastIndexOf('.')) : '');

  // An edge lives in the lowest common ancestor that contains both ends (ELK then gives its
  // coordinates relative to that node, and says so in `container`).
  const containerFor = (source, target) => {
    let c;
    if (source === target) c = parentPath(source);
    else if (isAncestor(source, target)) c = source;
    else if (isAncestor(target, source)) c = target;
    else c = lca(source, target);
    // A leaf cannot hold edges; the root always can.
    while (c !== '' && !(elkNodes.get(c)?.children?.length > 0)) c = parentPath(c);
    return c;
  };

  // The root is not drawn as a box: transitions on the machine itself start at a `*` node.
  let anyNodeNeeded = false;
  for (const edge of model.edges) {
    const source = edge.source === '' ? '*' : edge.source;
    if (source === '*') anyNodeNeeded = true;
    const container = source === '*' ? '' : containerFor(edge.source, edge.target);
    const lines = edge.labels;
    const width = Math.ceil(Math.max(...lines.map((l) => measure(l, FONT_SMALL)))) + 4;
    elkNodes.get(container).edges.push({
      id: edge.id,
      sources: [source === '*' ? 'n:*' : nodeId(source)],
      targets: [nodeId(edge.target)],
      labels: [{ id: `${edge.id}:l`, text: lines.join('\n'), width, height: lines.length * LABEL_LINE }],
    });
  }
  if (anyNodeNeeded) rootEl.children.unshift({ id: 'n:*', width: 22, height: 22 });
  for (const node of model.nodes.values()) {
    if (node.type === 'compound' && node.initial !== null && node.children.length > 0) {
      const childPath = node.path === '' ? node.initial : `${node.path}.${node.initial}`;
      elkNodes.get(node.path).edges.push({ id: `init:${node.path}`, sources: [initialId(node.path)], targets: [nodeId(childPath)] });
    }
  }
  return rootEl;
}

// ---------------------------------------------------------------------------------------------
// SVG

function svgEl(doc, name, attrs, parent) {
  const el = doc.createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (parent) parent.appendChild(el);
  return el;
}

const round = (n) => Math.round(n * 10) / 10;

/**
 * Draws ELK's laid-out graph as an `<svg>` (a template: app.js clones it per actor). State
 * boxes are `<g class="state-node" data-state-node="<path>">`; edges
 * `<g class="edge" data-source data-target>`. Arrowheads use `#coord-arrow`, defined once in
 * index.html.
 */
export function renderSvg(doc, model, laid) {
  const abs = new Map(); // ELK id -> absolute {x, y, w, h}
  const visit = (n, ox, oy) => {
    const x = ox + (n.x || 0);
    const y = oy + (n.y || 0);
    abs.set(n.id, { x, y, w: n.width || 0, h: n.height || 0 });
    for (const c of n.children || []) visit(c, x, y);
  };
  visit({ ...laid, x: 0, y: 0 }, 0, 0);
  const width = Math.ceil(laid.width || 100);
  const height = Math.ceil(laid.height || 60);

  const svg = svgEl(doc, 'svg', { class: 'chart', viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: 'xMidYMid meet', 'data-machine': model.id });
  const gStates = svgEl(doc, 'g', { class: 'states' }, svg);
  const gEdges = svgEl(doc, 'g', { class: 'edges' }, svg);
  const gLabels = svgEl(doc, 'g', { class: 'labels' }, svg);

  // States, parents before children so that nested boxes paint on top.
  const drawState = (node) => {
    if (node.path !== '') {
      const box = abs.get(nodeId(node.path));
      if (box) {
        const isContainer = node.children.length > 0;
        const classes = ['state-node', node.type, isContainer ? 'container' : 'leaf'];
        const parent = node.parent;
        if (parent && parent.type === 'compound' && parent.initial === node.key) classes.push('initial');
        const g = svgEl(doc, 'g', { class: classes.join(' '), 'data-state-node': node.path }, gStates);
        const title = svgEl(doc, 'title', {}, g);
        title.textContent = node.invokes.length ? `${node.path}\ninvokes ${node.invokes.join(', ')}` : node.path;
        svgEl(doc, 'rect', { x: round(box.x), y: round(box.y), width: round(box.w), height: round(box.h), rx: 6, ry: 6 }, g);
        if (node.type === 'final') {
          svgEl(doc, 'rect', { class: 'final-inner', x: round(box.x + 3), y: round(box.y + 3), width: round(box.w - 6), height: round(box.h - 6), rx: 4, ry: 4 }, g);
        }
        if (isContainer) {
          const t = svgEl(doc, 'text', { class: 'state-label', x: round(box.x + 8), y: round(box.y + 16) }, g);
          t.textContent = node.key;
          if (node.type === 'parallel') {
            const p = svgEl(doc, 'text', { class: 'state-kind', x: round(box.x + box.w - 8), y: round(box.y + 15), 'text-anchor': 'end' }, g);
            p.textContent = 'parallel';
          }
        } else {
          const hasInvoke = node.invokes.length > 0;
          const t = svgEl(doc, 'text', { class: 'state-label', x: round(box.x + box.w / 2), y: round(box.y + (hasInvoke ? 16 : 18)), 'text-anchor': 'middle' }, g);
          t.textContent = node.type === 'history' ? `H ${node.key}` : node.key;
          if (hasInvoke) {
            const s = svgEl(doc, 'text', { class: 'state-invoke', x: round(box.x + box.w / 2), y: round(box.y + 30), 'text-anchor': 'middle' }, g);
            s.textContent = `invoke ${node.invokes.join(', ')}`;
          }
        }
      }
    }
    if (node.type === 'compound' && node.initial !== null) {
      const dot = abs.get(initialId(node.path));
      if (dot) svgEl(doc, 'circle', { class: 'initial-dot', cx: round(dot.x + dot.w / 2), cy: round(dot.y + dot.h / 2), r: dot.w / 2 }, gStates);
    }
    for (const child of node.children) drawState(child);
  };
  drawState(model.root);
  const any = abs.get('n:*');
  if (any) {
    const g = svgEl(doc, 'g', { class: 'any-state' }, gStates);
    svgEl(doc, 'circle', { cx: round(any.x + any.w / 2), cy: round(any.y + any.h / 2), r: any.w / 2 }, g);
    const t = svgEl(doc, 'text', { x: round(any.x + any.w / 2), y: round(any.y + any.h / 2 + 4), 'text-anchor': 'middle' }, g);
    t.textContent = '*';
  }

  const edgeInfo = new Map(model.edges.map((e) => [e.id, e]));
  const drawEdges = (n) => {
    for (const e of n.edges || []) {
      const container = abs.get(e.container || n.id) || abs.get(n.id) || { x: 0, y: 0 };
      const info = edgeInfo.get(e.id);
      const isInitial = String(e.id).startsWith('init:');
      for (const s of e.sections || []) {
        const pts = [s.startPoint, ...(s.bendPoints || []), s.endPoint].map((p) => `${round(p.x + container.x)},${round(p.y + container.y)}`);
        const g = svgEl(doc, 'g', isInitial ? { class: 'edge initial-edge' } : { class: 'edge', 'data-source': info ? info.source : '', 'data-target': info ? info.target : '' }, gEdges);
        svgEl(doc, 'polyline', { points: pts.join(' '), 'marker-end': 'url(#coord-arrow)' }, g);
        if (info) {
          const title = svgEl(doc, 'title', {}, g);
          title.textContent = `${info.labels.join(', ')}: ${info.source || '*'} → ${info.target}`;
        }
      }
      for (const l of e.labels || []) {
        const lines = String(l.text).split('\n');
        const x = (l.x || 0) + container.x + (l.width || 0) / 2;
        const y0 = (l.y || 0) + container.y;
        const t = svgEl(doc, 'text', { class: 'edge-label', x: round(x), y: round(y0 + 9), 'text-anchor': 'middle', 'data-edge': e.id, 'data-source': info ? info.source : '' }, gLabels);
        lines.forEach((line, i) => {
          const span = svgEl(doc, 'tspan', { x: round(x), dy: i === 0 ? 0 : LABEL_LINE }, t);
          span.textContent = line;
        });
      }
    }
    for (const c of n.children || []) drawEdges(c);
  };
  drawEdges(laid);
  return { svg, width, height };
}
