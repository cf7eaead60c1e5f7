/**
 * The supervisor's circuit breakers: one per worker (`worker:<id>`) and one per command or
 * agent key (`command:<program>` for run tasks, `module:<file>` for module tasks). Each is a
 * `breaker:<scope>` child of the coordinator actor, spawned on first use, so an inspector
 * sees every transition. The dispatcher asks {@link BreakerBoard.admit} before assigning
 * and {@link BreakerBoard.hold}s the admission under the attempt's lease once claimed; the
 * outcome path answers it by lease with a verdict ({@link BreakerBoard.settle}) or none
 * ({@link BreakerBoard.release}). Which failures count, and on which breaker, is the error
 * policy's `chargedTo` and `tripsBreaker` (src/errors.ts).
 *
 * Every method sends to breaker actors synchronously: call them outside actor transitions
 * (dispatch passes, the outcome path), never from a machine's action.
 */
import path from 'node:path';
import type { AnyActorRef } from 'xstate';
import { canPass, breakerStateOf, isProbeGranted, type CircuitBreakerConfig, type CircuitBreakerSnapshot } from '../../machines/circuit-breaker.js';
import { policyOf, type CoordErrorCode } from '../errors.js';
import type { TaskSpec } from '../tasks/spec.js';

/** The command/agent key of a task: the program name of `run[0]`, or the module file. */
export function commandScope(spec: TaskSpec): string {
  if (spec.run) return `command:${path.basename(spec.run[0] ?? '')}`;
  return `module:${spec.module ?? ''}`;
}

export function workerScope(workerId: string): string {
  return `worker:${workerId}`;
}

/** Where breakers live and how to create one (both supplied by the supervisor). */
export interface BreakerHost {
  child(id: string): AnyActorRef | undefined;
  spawn(scope: string): void;
}

/** The probes an admitted attempt holds, to be answered with its result. */
export type Admission = ReadonlyArray<{ scope: string; probe: string | null }>;

/** An attempt's verdict for its breakers. */
export type Verdict = { ok: true } | { ok: false; code: CoordErrorCode; at: number };

export class BreakerBoard {
  private readonly spawned = new Set<string>();
  /** The admission each in-flight attempt holds, by lease. */
  private readonly held = new Map<string, Admission>();

  constructor(private readonly host: BreakerHost) {}

  /** The breaker of `scope`, spawned on first use. */
  private ref(scope: string): AnyActorRef | undefined {
    if (!this.spawned.has(scope)) {
      this.spawned.add(scope);
      this.host.spawn(scope);
    }
    return this.host.child(`breaker:${scope}`);
  }

  /** True when the worker's breaker lets work through at all (closed, or half-open with probes left). */
  workerOpen(workerId: string): boolean {
    const ref = this.ref(workerScope(workerId));
    return ref === undefined || canPass(ref.getSnapshot() as CircuitBreakerSnapshot);
  }

  /**
   * Asks every breaker on the attempt's path to let it through; a half-open breaker grants a
   * probe (at most N at once). Returns the admission, or the scope that refused (and no probe
   * held). An admission that is not {@link hold}-held must be given back with {@link drop}.
   */
  admit(spec: TaskSpec, workerId: string, probeId: string): { admission: Admission } | { refusedBy: string } {
    const admission: Array<{ scope: string; probe: string | null }> = [];
    for (const scope of [workerScope(workerId), commandScope(spec)]) {
      const ref = this.ref(scope);
      if (!ref) continue;
      const snapshot = ref.getSnapshot() as CircuitBreakerSnapshot;
      const granted = canPass(snapshot) && (breakerStateOf(snapshot) !== 'halfOpen' || this.probe(ref, probeId));
      if (!granted) {
        this.drop(admission);
        return { refusedBy: scope };
      }
      admission.push({ scope, probe: breakerStateOf(snapshot) === 'halfOpen' ? probeId : null });
    }
    return { admission };
  }

  private probe(ref: AnyActorRef, probeId: string): boolean {
    ref.send({ type: 'probe.request', requestId: probeId });
    return isProbeGranted(ref.getSnapshot() as CircuitBreakerSnapshot, probeId);
  }

  /** The admitted attempt was claimed under `lease`: its result will be reported by lease. */
  hold(lease: string, admission: Admission): void {
    this.held.set(lease, admission);
  }

  /** An admission that led to no attempt (another supervisor claimed the task): frees its probes. */
  drop(admission: Admission): void {
    for (const { scope, probe } of admission) {
      if (probe) this.host.child(`breaker:${scope}`)?.send({ type: 'probe.released', requestId: probe });
    }
  }

  /**
   * Reports the attempt's verdict to its breakers: a success to each; a failure to the
   * breaker its code is charged to, when the code trips breakers; a probe the verdict does
   * not answer is released.
   */
  settle(lease: string, verdict: Verdict): void {
    for (const { scope, probe } of this.take(lease)) {
      const ref = this.host.child(`breaker:${scope}`);
      if (!ref) continue;
      const requestId = probe ?? undefined;
      if (verdict.ok) ref.send({ type: 'call.succeeded', requestId });
      else if (counts(scope, verdict.code)) ref.send({ type: 'call.failed', at: verdict.at, requestId });
      else if (probe) ref.send({ type: 'probe.released', requestId: probe });
    }
  }

  /** The attempt ended without a verdict (released, cancelled): frees its probes. */
  release(lease: string): void {
    this.drop(this.take(lease));
  }

  private take(lease: string): Admission {
    const admission = this.held.get(lease) ?? [];
    this.held.delete(lease);
    return admission;
  }

  /** Every breaker's state, for `status()`. */
  /** New limits for every breaker that exists (new ones get them from the coordinator). */
  configureAll(config: Partial<CircuitBreakerConfig>): void {
    for (const scope of this.spawned) this.host.child(`breaker:${scope}`)?.send({ type: 'config.update', config });
  }

  describe(): Array<{ scope: string; state: string }> {
    return [...this.spawned].flatMap((scope) => {
      const ref = this.host.child(`breaker:${scope}`);
      return ref ? [{ scope, state: breakerStateOf(ref.getSnapshot() as CircuitBreakerSnapshot) }] : [];
    });
  }

}

/** A failure counts on a worker breaker when charged to the worker, on a command breaker when charged to the task. */
function counts(scope: string, code: CoordErrorCode): boolean {
  const { chargedTo, tripsBreaker } = policyOf(code);
  return tripsBreaker && chargedTo === (scope.startsWith('worker:') ? 'worker' : 'task');
}
