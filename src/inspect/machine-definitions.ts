/**
 * coord's four machine definitions by the names the exporter, the docs and the inspector use:
 * `coordinator`, `worker`, `circuit-breaker`, `fallback-chain`. These are the pure
 * definitions from machines/, before `src/` provides their effects: what they can do, not
 * what a run plugs into them.
 */
import type { AnyStateMachine } from 'xstate';
import { circuitBreakerMachine } from '../../machines/circuit-breaker.js';
import { coordinatorMachine } from '../../machines/coordinator.js';
import { fallbackChainMachine } from '../../machines/fallback-chain.js';
import { workerMachine } from '../../machines/worker.js';

/** The machines' names, in the order they are exported and documented. */
export const MACHINE_NAMES = ['coordinator', 'worker', 'circuit-breaker', 'fallback-chain'] as const;

export type MachineName = (typeof MACHINE_NAMES)[number];

/** One machine: its name, its definition, and the file that defines it (relative to the package root). */
export interface MachineDefinition {
  name: MachineName;
  machine: AnyStateMachine;
  source: string;
}

/** The four machines, in {@link MACHINE_NAMES} order. */
export const MACHINE_DEFINITIONS: readonly MachineDefinition[] = Object.freeze([
  { name: 'coordinator', machine: coordinatorMachine, source: 'machines/coordinator.ts' },
  { name: 'worker', machine: workerMachine, source: 'machines/worker.ts' },
  { name: 'circuit-breaker', machine: circuitBreakerMachine, source: 'machines/circuit-breaker.ts' },
  { name: 'fallback-chain', machine: fallbackChainMachine, source: 'machines/fallback-chain.ts' },
] satisfies MachineDefinition[]);

/** The definition named `name`, or undefined. */
export function machineDefinition(name: string): MachineDefinition | undefined {
  return MACHINE_DEFINITIONS.find((definition) => definition.name === name);
}
