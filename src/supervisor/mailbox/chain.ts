/**
 * A delivery's fallback chain (machines/fallback-chain.ts) as a value: each step rehydrates
 * the machine from the trigger job's persisted snapshot, sends one event, and returns the
 * new persisted snapshot with its stage and hops. Pure (no clock, no effects), so the same
 * job read by any supervisor takes the same hop.
 */
import { createActor } from 'xstate';
import {
  fallbackChainMachine,
  type FallbackChainEvent,
  type FallbackChainSnapshot,
  type FallbackHop,
  type FallbackStage,
} from '../../../machines/fallback-chain.js';

/** Where a delivery's chain stands. */
export interface ChainState {
  /** The persisted snapshot, as stored in the job. */
  persisted: unknown;
  stage: FallbackStage;
  hops: readonly FallbackHop[];
  resumeCount: number;
}

function stateOf(actor: ReturnType<typeof createActor<typeof fallbackChainMachine>>): ChainState {
  const snapshot: FallbackChainSnapshot = actor.getSnapshot();
  return { persisted: actor.getPersistedSnapshot(), stage: snapshot.value, hops: snapshot.context.hops, resumeCount: snapshot.context.resumeCount };
}

/** The actor of a persisted chain (its input is in the snapshot: the one given here is not read). */
function restore(persisted: unknown) {
  return createActor(fallbackChainMachine, { snapshot: persisted as never, input: { taskId: '' } });
}

/** A new chain for a delivery of `taskId`. */
export function newChain(taskId: string, config: { maxResumes: number; staleAfterMs: number }): ChainState {
  const actor = createActor(fallbackChainMachine, { input: { taskId, maxResumes: config.maxResumes, staleAfterMs: config.staleAfterMs } });
  actor.start();
  const state = stateOf(actor);
  actor.stop();
  return state;
}

/** The chain `persisted` after `event`. */
export function stepChain(persisted: unknown, event: FallbackChainEvent): ChainState {
  const actor = restore(persisted);
  actor.start();
  actor.send(event);
  const state = stateOf(actor);
  actor.stop();
  return state;
}

/** The chain `persisted` as it is. */
export function readChain(persisted: unknown): ChainState {
  const actor = restore(persisted);
  const state = stateOf(actor);
  return state;
}

/** The hops as one line: `original → resume (SESSION_ENDED) → respawn (AGENT_FAILED)`. */
export function describeHops(hops: readonly FallbackHop[]): string {
  if (hops.length === 0) return 'original';
  return ['original', ...hops.map((h) => `${h.to} (${h.reason}: ${h.code})`)].join(' → ');
}
