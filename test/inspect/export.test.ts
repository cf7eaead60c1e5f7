/**
 * The machine exporter: every format for every machine; the JSON loads with `createMachine()`
 * into a machine with the same state nodes; the diagrams hold every state and every event of
 * the machine's config, nested states in blocks (Mermaid) or clusters (DOT).
 */
import { spawnSync } from 'node:child_process';
import { createMachine, type AnyStateMachine, type AnyStateNode } from 'xstate';
import { describe, expect, it } from 'vitest';
import { EXPORT_FORMATS, exportAll, exportMachine, toDot, toJson, toMermaid, isExportFormat } from '../../src/inspect/export-formats.js';
import { MACHINE_DEFINITIONS, MACHINE_NAMES, machineDefinition } from '../../src/inspect/machine-definitions.js';
import { delayLabel, guardLabel, machineGraph } from '../../src/inspect/machine-graph.js';

/** The machine's `idMap` keys (XState marks the map internal): every state node's id. */
function idMapKeys(machine: AnyStateMachine): string[] {
  return [...(machine as unknown as { idMap: Map<string, unknown> }).idMap.keys()].sort();
}

/** Every state node's id, depth first. */
function stateIds(node: AnyStateNode): string[] {
  return [node.id, ...Object.values(node.states).flatMap(stateIds)];
}

/** Every state node below the root. */
function stateNodes(node: AnyStateNode): AnyStateNode[] {
  return Object.values(node.states).flatMap((child) => [child, ...stateNodes(child)]);
}

interface ConfigNode {
  on?: Record<string, unknown>;
  after?: Record<string, unknown>;
  always?: unknown;
  invoke?: { src?: unknown; onDone?: unknown; onError?: unknown } | Array<{ src?: unknown; onDone?: unknown; onError?: unknown }>;
  states?: Record<string, ConfigNode>;
}

/** What the config names as triggers: event types, `after` delays, invoked actors' ends, `always`. */
function configTriggers(node: ConfigNode): string[] {
  const invokes = node.invoke === undefined ? [] : Array.isArray(node.invoke) ? node.invoke : [node.invoke];
  return [
    ...Object.keys(node.on ?? {}),
    ...Object.keys(node.after ?? {}).map((delay) => `after ${delay}`),
    ...(node.always === undefined ? [] : ['always']),
    ...invokes.flatMap((invoke) => [
      ...(invoke.onDone === undefined ? [] : [`done: ${String(invoke.src)}`]),
      ...(invoke.onError === undefined ? [] : [`error: ${String(invoke.src)}`]),
    ]),
    ...Object.values(node.states ?? {}).flatMap(configTriggers),
  ];
}

/** Every value of the JSON, depth first. */
function values(value: unknown): unknown[] {
  if (Array.isArray(value)) return [value, ...value.flatMap(values)];
  if (typeof value === 'object' && value !== null) return [value, ...Object.values(value).flatMap(values)];
  return [value];
}

describe.each(MACHINE_DEFINITIONS.map((definition) => [definition.name, definition.machine] as const))('%s', (name, machine) => {
  it('exports in every format', () => {
    for (const format of EXPORT_FORMATS) {
      const text = exportMachine(machine, format);
      expect(text.endsWith('\n')).toBe(true);
      expect(text.length).toBeGreaterThan(100);
    }
    expect(toJson(machine).startsWith('{\n  "id": ')).toBe(true);
    expect(toMermaid(machine).startsWith('stateDiagram-v2\n')).toBe(true);
    expect(toDot(machine).startsWith(`digraph "${machine.id}" {\n`)).toBe(true);
  });

  it('JSON: loads with createMachine() into the same state nodes', () => {
    const loaded = createMachine(JSON.parse(toJson(machine)));
    expect(idMapKeys(loaded)).toEqual(idMapKeys(machine));
    expect(idMapKeys(machine).length).toBeGreaterThan(3);
    expect(stateIds(loaded.root)).toEqual(stateIds(machine.root));
    expect(loaded.id).toBe(machine.id);
    // The same initial states and final states, level by level.
    const shape = (root: AnyStateNode) => stateNodes(root).map((node) => `${node.id}:${node.type}:${node.type === 'compound' ? node.initial.target[0]?.id : ''}`);
    expect(shape(loaded.root)).toEqual(shape(machine.root));
  });

  it('JSON: functions are { "type": name }, nothing else is lost from the config', () => {
    const json = JSON.parse(toJson(machine)) as Record<string, unknown>;
    expect(json['id']).toBe(machine.id);
    expect(json['context']).toEqual({ type: 'context' });
    // Every trigger the live config names is still there.
    expect(configTriggers(json as ConfigNode).sort()).toEqual(configTriggers(machine.config as ConfigNode).sort());
    for (const value of values(json)) {
      if (typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 1 && 'type' in value) {
        expect(typeof (value as { type: unknown }).type).toBe('string');
      }
    }
  });

  it('Mermaid: every state and every event of the config', () => {
    const text = toMermaid(machine);
    for (const node of stateNodes(machine.root)) expect(text).toMatch(new RegExp(`\\b${node.key}\\b`));
    const triggers = new Set(configTriggers(machine.config as ConfigNode));
    expect(triggers.size).toBeGreaterThan(2);
    for (const trigger of triggers) expect(text).toContain(trigger);
    const initial = machine.root.initial.target[0]?.key ?? '';
    expect(text).toContain(`\n  [*] --> ${initial}\n`);
    for (const node of stateNodes(machine.root).filter((candidate) => candidate.type === 'final')) {
      expect(text).toContain(`${node.path.join('__')} --> [*]`);
    }
    // Mermaid syntax it must not trip on: a label's `;` or `#`, a line per label.
    for (const line of text.split('\n').filter((candidate) => candidate.includes(' : '))) expect(line).not.toMatch(/[;#]/);
  });

  it('DOT: every state, every event, a cluster per compound state, balanced braces', () => {
    const text = toDot(machine);
    for (const node of stateNodes(machine.root)) expect(text).toContain(node.type === 'compound' ? `"cluster_${node.id}"` : `"${node.id}" [label="${node.key}`);
    for (const trigger of new Set(configTriggers(machine.config as ConfigNode))) expect(text).toContain(trigger);
    for (const node of stateNodes(machine.root).filter((candidate) => candidate.type === 'compound')) {
      expect(text).toContain(`subgraph "cluster_${node.id}" {`);
    }
    expect(text.split('{').length).toBe(text.split('}').length);
    expect(text).toMatch(/ -> .* \[label="[^"]+"/);
  });

  it(`is exported under its name (${name})`, () => {
    expect(machineDefinition(name)?.machine).toBe(machine);
  });
});

describe('the coordinator\'s diagram', () => {
  const coordinator = machineDefinition('coordinator')?.machine as AnyStateMachine;
  const text = toMermaid(coordinator);

  it('nests draining\'s states in a block, each named, with the edges inside it', () => {
    const block = /\n {2}state draining \{\n([\s\S]*?)\n {2}\}\n/.exec(text)?.[1] ?? '';
    expect(block).toContain('[*] --> draining__finishing');
    expect(block).toContain('state "stoppingWorkers" as draining__stoppingWorkers');
    expect(block).toContain('draining__stoppingWorkers --> draining__closing : done: stopWorkers');
    expect(block).toContain('draining__finishing --> draining__stoppingWorkers : after drainDeadline');
  });

  it('draws edges across levels at the level that holds both ends', () => {
    expect(text).toContain('\n  draining__closing --> failed : done: closeResources [hasError]\n');
    expect(text).toContain('\n  draining__closing --> stopped : done: closeResources [else]\n');
    expect(text).toContain('\n  running --> draining__stoppingWorkers : worker.failed [allWorkersFailed]\n');
    expect(text).toContain('\n  init --> running : done: initialize\n');
  });

  it('writes what a state handles without leaving it under it, the root\'s in a note', () => {
    expect(text).toContain('\n  state "running" as running\n  running : workers.add\n  running : worker.failed [else]\n');
    expect(text).toMatch(/note right of draining\n\s+worker\.failed\n\s+coordinator\.fault\n\s+end note/);
    expect(text).toMatch(/note right of init\n\s+in any state:\n\s+breaker\.ensure\n/);
    expect(text).toContain('stopped --> [*]');
    expect(text).toContain('failed --> [*]');
  });
});

describe('the worker\'s diagrams', () => {
  const worker = machineDefinition('worker')?.machine as AnyStateMachine;

  it('labels named delays with their value, combined guards with and, the fallback with else', () => {
    const text = toMermaid(worker);
    expect(text).toContain('stopping__asking --> stopping__terminating : after shutdownGrace (5000ms)');
    expect(text).toContain('spawning --> stopping : after spawnTimeout (10000ms)');
    expect(text).toContain('restarting --> spawning : after restartDelay\n');
    expect(text).toContain('stopping --> restarting : process.exited [spawnTimedOut and hasRestartBudget]');
    expect(text).toContain('busy --> restarting : process.exited [hasRestartBudget]');
    expect(text).toContain('busy --> failed : process.exited [else]');
    expect(text).toContain('idle --> idle : process.heartbeat');
  });

  it('DOT: edges to and from the stopping cluster end at its border', () => {
    const text = toDot(worker);
    expect(text).toContain('"worker.busy" -> "worker.stopping:initial" [label="worker.stop", lhead="cluster_worker.stopping"];');
    expect(text).toContain('"worker.stopping:initial" -> "worker.exited" [label="process.exited [else]", ltail="cluster_worker.stopping"];');
    expect(text).toContain('"worker.stopping.asking" -> "worker.stopping.terminating" [label="after shutdownGrace (5000ms)"];');
    expect(text).toContain('"worker.exited" [label="exited", peripheries=2];');
    expect(text).toContain('label="worker\\nin any state:\\nprocess.heartbeat";');
  });
});

describe('labels', () => {
  it('a numeric delay in ms, `always`, and a root transition with a target', () => {
    const machine = createMachine({
      id: 'tiny',
      initial: 'a',
      on: { reset: '.a' },
      states: {
        a: { after: { 5000: 'b' } },
        b: { always: { target: 'c', guard: 'ready' } },
        c: { type: 'final' },
      },
    });
    const text = toMermaid(machine);
    expect(text).toContain('a --> b : after 5000ms');
    expect(text).toContain('b --> c : always [ready]');
    expect(text).toContain('reset → a');
    expect(toDot(machine)).toContain('"tiny.a" -> "tiny.b" [label="after 5000ms"];');
  });

  it('guards and delays as text', () => {
    expect(guardLabel('isLeaseCurrent')).toBe('isLeaseCurrent');
    expect(guardLabel({ type: 'hasBudget', params: { n: 1 } })).toBe('hasBudget');
    expect(guardLabel(undefined)).toBeUndefined();
    expect(guardLabel(Object.assign(function not() {}, { guards: ['open'] }))).toBe('not open');
    expect(guardLabel(Object.assign(function or() {}, { guards: ['a', { type: 'b' }] }))).toBe('a or b');
    expect(delayLabel(250, {})).toBe('after 250ms');
    expect(delayLabel('grace', { grace: 100 })).toBe('after grace (100ms)');
    expect(delayLabel('computed', { computed: () => 1 })).toBe('after computed');
  });

  it('Mermaid ids never carry a character Mermaid would read as syntax', () => {
    const machine = createMachine({ id: 'odd', initial: 'a-b', states: { 'a-b': { on: { 'go#1;x': 'c d' } }, 'c d': {} } });
    const text = toMermaid(machine);
    expect(text).toContain('state "a-b" as a_b');
    expect(text).toContain('state "c d" as c_d');
    expect(text).toContain('a_b --> c_d : go 1 x');
  });

  it('the chart lists targetless transitions on their state, not as edges', () => {
    const graph = machineGraph(machineDefinition('circuit-breaker')?.machine as AnyStateMachine);
    expect(graph.root.internal).toEqual(['config.update']);
    const halfOpen = graph.root.children.find((state) => state.key === 'halfOpen');
    expect(halfOpen?.internal).toEqual(['probe.request [hasProbeSlot]', 'call.succeeded [isGrantedProbe]', 'probe.released [isGrantedProbe]']);
    expect(graph.edges.filter((edge) => edge.from === 'circuitBreaker.halfOpen').map((edge) => edge.label)).toEqual([
      'call.failed [isGrantedProbe]',
      'call.succeeded [isGrantedProbe and closesWithThisSuccess]',
    ]);
  });
});

describe('all machines at once', () => {
  it('JSON: one object keyed by machine name', () => {
    const all = JSON.parse(exportAll(MACHINE_DEFINITIONS, 'json')) as Record<string, { id: string }>;
    expect(Object.keys(all)).toEqual([...MACHINE_NAMES]);
    expect(all['circuit-breaker']?.id).toBe('circuitBreaker');
  });

  it('Mermaid and DOT: each machine under a comment header', () => {
    const mermaid = exportAll(MACHINE_DEFINITIONS, 'mermaid');
    const dot = exportAll(MACHINE_DEFINITIONS, 'dot');
    for (const name of MACHINE_NAMES) {
      expect(mermaid).toContain(`%% ${name}\nstateDiagram-v2\n`);
      expect(dot).toMatch(new RegExp(`// ${name}\ndigraph "`));
    }
    expect(mermaid.match(/^stateDiagram-v2$/gm)).toHaveLength(4);
  });

  it('knows its formats', () => {
    expect(EXPORT_FORMATS.filter(isExportFormat)).toEqual(['json', 'mermaid', 'dot']);
    expect(isExportFormat('svg')).toBe(false);
  });
});

// Graphviz is set up by test/setup/ensure-system.mjs (npm test), like Chromium.
describe('Graphviz lays out the DOT export', () => {
  it.each(MACHINE_NAMES)('lays out %s without a warning', (name) => {
    const machine = machineDefinition(name)?.machine as AnyStateMachine;
    const result = spawnSync('dot', ['-Tsvg'], { input: toDot(machine), encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('<svg');
  });
});
