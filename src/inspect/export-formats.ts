/**
 * A machine as text, in three formats (pure: no files, no clock):
 *
 * - `json`: the machine's definition, `machine.config` with every function replaced by
 *   `{ "type": <its name> }` (the shape Stately's editor imports and `createMachine()`
 *   loads), pretty-printed;
 * - `mermaid`: a `stateDiagram-v2`, compound states as `state X { … }` blocks;
 * - `dot`: a Graphviz `digraph`, compound states as clusters.
 *
 * The diagrams are drawn from machine-graph.ts; a transition that goes nowhere is written on
 * the state that handles it (the root's: in a note, "in any state").
 */
import type { AnyStateMachine } from 'xstate';
import { allStates, machineGraph, type GraphEdge, type GraphState, type MachineGraph } from './machine-graph.js';

export const EXPORT_FORMATS = ['json', 'mermaid', 'dot'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** The file extension of each format. */
export const FORMAT_EXTENSIONS: Readonly<Record<ExportFormat, string>> = Object.freeze({ json: 'json', mermaid: 'mmd', dot: 'dot' });

/** True when `value` names a format. */
export function isExportFormat(value: unknown): value is ExportFormat {
  return typeof value === 'string' && (EXPORT_FORMATS as readonly string[]).includes(value);
}

/** A JSON.stringify replacer: a function becomes `{ "type": its name }` (`anonymous` when it has none). */
export function functionsAsTypes(_key: string, value: unknown): unknown {
  return typeof value === 'function' ? { type: value.name || 'anonymous' } : value;
}

/** The machine's config as a plain JSON value (functions as `{ "type": name }`). */
export function machineConfigValue(machine: AnyStateMachine): unknown {
  return JSON.parse(JSON.stringify(machine.config, functionsAsTypes)) as unknown;
}

/** The machine's definition as pretty-printed JSON text. */
export function toJson(machine: AnyStateMachine): string {
  return `${JSON.stringify(machine.config, functionsAsTypes, 2)}\n`;
}

// ---- Mermaid -------------------------------------------------------------------------------

const PLAIN_ID = /^[A-Za-z][A-Za-z0-9_]*$/;

/** A state's Mermaid id: its key at the top level, its path joined by `__` below. */
function mermaidId(state: GraphState): string {
  const joined = state.path.join('__').replace(/[^A-Za-z0-9_]/g, '_');
  return /^[A-Za-z]/.test(joined) ? joined : `s_${joined}`;
}

/** Mermaid reads `;` and `#` in a label as syntax, and a label is one line. */
function mermaidText(text: string): string {
  return text.replace(/[;#\n]/g, ' ');
}

/** Lines under `indent`: a state, its alias, its block of children (and their edges). */
function mermaidState(state: GraphState, edgesByBlock: Map<string, GraphEdge[]>, ids: Map<string, string>, indent: string): string[] {
  const id = mermaidId(state);
  // Declared with its name whenever the id is not the name, and when it has descriptions
  // (without the declaration, Mermaid would title the state with its first description).
  const named = id === state.key && PLAIN_ID.test(state.key) && (state.children.length > 0 || state.internal.length === 0);
  const alias = named ? [] : [`${indent}state "${mermaidText(state.key)}" as ${id}`];
  const final = state.kind === 'final' ? [`${indent}${id} --> [*]`] : [];
  if (state.children.length === 0) return [...alias, ...state.internal.map((label) => `${indent}${id} : ${mermaidText(label)}`), ...final];
  return [
    ...alias,
    `${indent}state ${id} {`,
    ...mermaidBlock(state, edgesByBlock, ids, `${indent}  `),
    `${indent}}`,
    // Mermaid gives a compound state no description: what it handles goes in a note beside it.
    ...mermaidNote(id, state.internal, indent),
    ...final,
  ];
}

/** A note to the right of `id`, one line per text; nothing when there is no text. */
function mermaidNote(id: string, lines: readonly string[], indent: string): string[] {
  if (lines.length === 0) return [];
  return [`${indent}note right of ${id}`, ...lines.map((line) => `${indent}  ${mermaidText(line)}`), `${indent}end note`];
}

/** The inside of a block: the initial arrow, the children, then the edges that belong here. */
function mermaidBlock(parent: GraphState, edgesByBlock: Map<string, GraphEdge[]>, ids: Map<string, string>, indent: string): string[] {
  const initial = parent.initial === undefined ? [] : [`${indent}[*] --> ${ids.get(parent.initial) ?? parent.initial}`];
  const children = parent.children.flatMap((child) => mermaidState(child, edgesByBlock, ids, indent));
  const edges = (edgesByBlock.get(parent.id) ?? []).map((edge) => `${indent}${ids.get(edge.from)} --> ${ids.get(edge.to)} : ${mermaidText(edge.label)}`);
  return [...initial, ...children, ...edges];
}

/** The id of the innermost state that holds both ends of an edge: the block it is written in. */
function enclosingBlock(graph: MachineGraph, edge: GraphEdge, states: Map<string, GraphState>): string {
  const parentPath = (id: string): readonly string[] => (states.get(id)?.path ?? []).slice(0, -1);
  const from = parentPath(edge.from);
  const to = parentPath(edge.to);
  let depth = 0;
  while (depth < from.length && depth < to.length && from[depth] === to[depth]) depth += 1;
  return depth === 0 ? graph.root.id : [graph.root.id, ...from.slice(0, depth)].join('.');
}

/** What the root handles in any state, for a note (an edge from the root says where it goes). */
function rootNotes(graph: MachineGraph): string[] {
  const edges = graph.edges.filter((edge) => edge.from === graph.root.id).map((edge) => `${edge.label} → ${edge.to.split('.').slice(1).join('.')}`);
  return [...graph.root.internal, ...edges];
}

/** The machine as a Mermaid `stateDiagram-v2`. */
export function toMermaid(machine: AnyStateMachine): string {
  const graph = machineGraph(machine);
  const states = new Map(allStates(graph.root).map((state) => [state.id, state]));
  const ids = new Map([...states.values()].map((state) => [state.id, mermaidId(state)]));
  const edgesByBlock = new Map<string, GraphEdge[]>();
  for (const edge of graph.edges.filter((candidate) => candidate.from !== graph.root.id)) {
    const block = enclosingBlock(graph, edge, states);
    edgesByBlock.set(block, [...(edgesByBlock.get(block) ?? []), edge]);
  }
  const notes = rootNotes(graph);
  const anchor = graph.root.initial === undefined ? undefined : ids.get(graph.root.initial);
  const note = notes.length === 0 || anchor === undefined ? [] : mermaidNote(anchor, ['in any state:', ...notes], '  ');
  return `${['stateDiagram-v2', ...mermaidBlock(graph.root, edgesByBlock, ids, '  '), ...note].join('\n')}\n`;
}

// ---- Graphviz DOT --------------------------------------------------------------------------

/** A DOT quoted string; `lines` joined by DOT's `\n`. */
function dotString(...lines: string[]): string {
  return `"${lines.map((line) => line.replace(/\\/g, '\\\\').replace(/"/g, '\\"')).join('\\n')}"`;
}

const clusterOf = (state: GraphState): string => dotString(`cluster_${state.id}`);
const initialPointOf = (id: string): string => dotString(`${id}:initial`);

function dotState(state: GraphState, indent: string): string[] {
  if (state.children.length === 0) {
    const shape = state.kind === 'final' ? ', peripheries=2' : '';
    return [`${indent}${dotString(state.id)} [label=${dotString(state.key, ...state.internal)}${shape}];`];
  }
  return [
    `${indent}subgraph ${clusterOf(state)} {`,
    `${indent}  label=${dotString(state.key, ...state.internal)};`,
    ...dotInside(state, `${indent}  `),
    `${indent}}`,
  ];
}

/** A compound state's (or the root's) initial point, the arrow to its first child, and its children. */
function dotInside(state: GraphState, indent: string): string[] {
  const initial = state.initial === undefined
    ? []
    : [`${indent}${initialPointOf(state.id)} [shape=point, label=""];`, `${indent}${initialPointOf(state.id)} -> ${dotString(state.initial)};`];
  return [...initial, ...state.children.flatMap((child) => dotState(child, indent))];
}

/** An edge: a compound end is drawn at its cluster's border (`ltail`/`lhead`), unless one end is inside the other. */
function dotEdge(edge: GraphEdge, states: Map<string, GraphState>): string {
  const from = states.get(edge.from);
  const to = states.get(edge.to);
  const inside = (outer: string, inner: string): boolean => inner.startsWith(`${outer}.`);
  const attributes = [`label=${dotString(edge.label)}`];
  let tail = dotString(edge.from);
  let head = dotString(edge.to);
  if (from && from.children.length > 0) {
    tail = initialPointOf(from.id);
    if (!inside(from.id, edge.to) && from.id !== edge.to) attributes.push(`ltail=${clusterOf(from)}`);
  }
  if (to && to.children.length > 0) {
    head = initialPointOf(to.id);
    if (!inside(to.id, edge.from) && to.id !== edge.from) attributes.push(`lhead=${clusterOf(to)}`);
  }
  return `  ${tail} -> ${head} [${attributes.join(', ')}];`;
}

/** The machine as a Graphviz `digraph`. */
export function toDot(machine: AnyStateMachine): string {
  const graph = machineGraph(machine);
  const states = new Map(allStates(graph.root).map((state) => [state.id, state]));
  const notes = rootNotes(graph);
  const label = notes.length === 0 ? [graph.id] : [graph.id, 'in any state:', ...notes];
  return `${[
    `digraph ${dotString(graph.id)} {`,
    '  compound=true;',
    `  label=${dotString(...label)};`,
    '  labelloc=t;',
    '  node [shape=box, style=rounded];',
    '  edge [fontsize=10];',
    ...dotInside(graph.root, '  '),
    ...graph.edges.filter((edge) => edge.from !== graph.root.id).map((edge) => dotEdge(edge, states)),
    '}',
  ].join('\n')}\n`;
}

// ---- All formats ---------------------------------------------------------------------------

/** One machine in `format`. */
export function exportMachine(machine: AnyStateMachine, format: ExportFormat): string {
  if (format === 'json') return toJson(machine);
  return format === 'mermaid' ? toMermaid(machine) : toDot(machine);
}

/**
 * Several machines as one text: JSON, one object keyed by name; a diagram format, each
 * machine under a comment header (`%% <name>`, `// <name>`).
 */
export function exportAll(machines: ReadonlyArray<{ name: string; machine: AnyStateMachine }>, format: ExportFormat): string {
  if (format === 'json') {
    const byName = Object.fromEntries(machines.map(({ name, machine }) => [name, machineConfigValue(machine)]));
    return `${JSON.stringify(byName, null, 2)}\n`;
  }
  const comment = format === 'mermaid' ? '%%' : '//';
  return machines.map(({ name, machine }) => `${comment} ${name}\n${exportMachine(machine, format)}`).join('\n');
}
