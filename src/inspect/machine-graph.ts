/**
 * A machine's statechart as plain data, read from XState's resolved state nodes: the tree
 * of states, and every transition with a label people can read (`process.exited
 * [hasRestartBudget]`, `after shutdownGrace (5000ms)`, `done: initialize`, `always`). The
 * Mermaid and DOT exporters (export-formats.ts) draw this; nothing here formats text for one.
 *
 * A transition with a target is an edge. One without (it only runs actions) is listed on the
 * state that handles it: it changes no state, but the state still answers that event.
 */
import type { AnyStateMachine, AnyStateNode } from 'xstate';

/** One state of the chart. `id` is XState's (`worker.stopping.asking`), `path` the keys below the root. */
export interface GraphState {
  id: string;
  key: string;
  path: readonly string[];
  kind: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  /** The id of the child entered first (compound states). */
  initial: string | undefined;
  children: readonly GraphState[];
  /** The labels of the transitions this state handles without going anywhere. */
  internal: readonly string[];
}

/** A transition drawn as an arrow: from a state to a state (the same one for a re-entry). */
export interface GraphEdge {
  from: string;
  to: string;
  label: string;
}

/** A machine's chart: the root state (the machine itself) and its edges. */
export interface MachineGraph {
  id: string;
  root: GraphState;
  edges: readonly GraphEdge[];
}

type Delays = Record<string, unknown>;
type Transition = AnyStateNode['transitions'] extends Map<string, Array<infer T>> ? T : never;

/** A guard as text: its name, `a and b` for `and([…])`, `not a` for `not(…)`. */
export function guardLabel(guard: unknown): string | undefined {
  if (guard === undefined || guard === null) return undefined;
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'function') {
    const inner = (guard as { guards?: unknown }).guards;
    if (Array.isArray(inner)) {
      const parts = inner.map((part) => guardLabel(part) ?? 'guard');
      return guard.name === 'not' ? `not ${parts.join(' ')}` : parts.join(` ${guard.name} `);
    }
    return guard.name || 'guard';
  }
  if (typeof guard === 'object' && typeof (guard as { type?: unknown }).type === 'string') return (guard as { type: string }).type;
  return 'guard';
}

/** A delay as text: `after 5000ms`, `after spawnTimeout (10000ms)` for a named one, `after restartDelay` when computed. */
export function delayLabel(delay: unknown, delays: Delays): string {
  if (typeof delay === 'number') return `after ${delay}ms`;
  if (typeof delay === 'string') {
    const value = delays[delay];
    return typeof value === 'number' ? `after ${delay} (${value}ms)` : `after ${delay}`;
  }
  return 'after (computed)';
}

/** What made a transition happen, as text: the event, a delay, an invoked actor's end, `always`. */
function triggerLabel(node: AnyStateNode, eventType: string, delays: Delays): string {
  if (eventType === '') return 'always';
  const delayed = node.after.find((candidate) => candidate.eventType === eventType);
  if (delayed) return delayLabel(delayed.delay, delays);
  const actor = /^xstate\.(done|error)\.actor\.(.*)$/.exec(eventType);
  if (actor) {
    const invoked = node.invoke.find((candidate) => candidate.id === actor[2]);
    const src = invoked === undefined ? actor[2] : typeof invoked.src === 'string' ? invoked.src : invoked.id;
    return `${actor[1]}: ${src}`;
  }
  if (eventType.startsWith('xstate.done.state.')) return 'done';
  return eventType;
}

/** A transition with its place among those of its event: an unguarded one after guarded ones is their `else`. */
interface Candidate {
  transition: Transition;
  otherwise: boolean;
}

function transitionLabel(node: AnyStateNode, { transition, otherwise }: Candidate, delays: Delays): string {
  const trigger = triggerLabel(node, String(transition.eventType), delays);
  const guard = guardLabel(transition.guard) ?? (otherwise ? 'else' : undefined);
  return guard === undefined ? trigger : `${trigger} [${guard}]`;
}

/** Every transition a state node declares, in order: its events', delays', invoked actors' and `always`. */
function transitionsOf(node: AnyStateNode): Candidate[] {
  const groups = [...node.transitions.values(), node.always ?? []];
  return groups.flatMap((group) =>
    group.map((transition, index) => ({ transition, otherwise: index > 0 && group.slice(0, index).some((earlier) => earlier.guard !== undefined) })),
  );
}

const hasTarget = ({ transition }: Candidate): boolean => transition.target !== undefined && transition.target.length > 0;

function stateOf(node: AnyStateNode, delays: Delays): GraphState {
  const children = Object.values(node.states).map((child) => stateOf(child, delays));
  const initial = node.type === 'compound' ? node.initial.target[0]?.id : undefined;
  const internal = transitionsOf(node)
    .filter((candidate) => !hasTarget(candidate))
    .map((candidate) => transitionLabel(node, candidate, delays));
  return { id: node.id, key: node.key, path: node.path, kind: node.type, initial, children, internal };
}

function edgesOf(node: AnyStateNode, delays: Delays): GraphEdge[] {
  const own = transitionsOf(node).flatMap((candidate) =>
    (candidate.transition.target ?? []).map((target) => ({ from: node.id, to: target.id, label: transitionLabel(node, candidate, delays) })),
  );
  return [...own, ...Object.values(node.states).flatMap((child) => edgesOf(child, delays))];
}

/** The chart of `machine`. */
export function machineGraph(machine: AnyStateMachine): MachineGraph {
  const delays = (machine.implementations.delays ?? {}) as Delays;
  return { id: machine.id, root: stateOf(machine.root, delays), edges: edgesOf(machine.root, delays) };
}

/** Every state below the root, depth first, parents before their children. */
export function allStates(state: GraphState): GraphState[] {
  return state.children.flatMap((child) => [child, ...allStates(child)]);
}
