/**
 * The supervisor's circuit breakers: one per worker (`worker:<id>`) and one per command or
 * agent key (`command:<program>` for run tasks, `module:<file>` for module tasks). Each is a
 * `breaker:<scope>` child of the coordinator actor, spawned on first use, so an inspector
 * sees every transition. The dispatcher asks {@link BreakerBoard.admit} before assigning;
 * results are reported back as successes, failures or released probes.
 */
import path from 'node:path';
import type { AnyActorRef } from 'xstate';
import { canPass, breakerStateOf, isProbeGranted, type CircuitBreakerSnapshot } from '../../machines/circuit-breaker.js';
import type { TaskSpec } from '../tasks/spec.js';

/**
 * Failure codes that say something about the worker (a broken worktree, a stalling
 * process). A plain crash is not counted: restart intensity already governs crashing
 * workers, and counting it twice would stop a worker that an operator merely killed.
 */
const WORKER_FAILURES: ReadonlySet<string> = new Set(['WORKER_HUNG', 'GIT_FAILED', 'LEASE_EXPIRED']);
/** Failure codes that say something about the command or handler itself. */
const COMMAND_FAILURES: ReadonlySet<string> = new Set(['TASK_EXIT_NONZERO', 'TASK_TIMEOUT', 'TASK_SPAWN_FAILED', 'MODULE_FAILED', 'MODULE_NOT_FOUND']);

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
export type Admission = Array<{ scope: string; probe: string | null }>;

export class BreakerBoard {
  private readonly spawned = new Set<string>();

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
   * probe (at most N at once). Returns the admission, or null (and no probe held) when one
   * refuses. Called outside any actor transition (from the dispatch pass).
   */
  admit(spec: TaskSpec, workerId: string, probeId: string): Admission | null {
    const admission: Admission = [];
    for (const scope of [workerScope(workerId), commandScope(spec)]) {
      const ref = this.ref(scope);
      if (!ref) continue;
      const snapshot = ref.getSnapshot() as CircuitBreakerSnapshot;
      if (!canPass(snapshot)) return this.refuse(admission);
      if (breakerStateOf(snapshot) === 'halfOpen') {
        ref.send({ type: 'probe.request', requestId: probeId });
        if (!isProbeGranted(ref.getSnapshot() as CircuitBreakerSnapshot, probeId)) return this.refuse(admission);
        admission.push({ scope, probe: probeId });
      } else {
        admission.push({ scope, probe: null });
      }
    }
    return admission;
  }

  /** Reports an attempt's verdict to its breakers (deferred: results arrive inside actor transitions). */
  settle(admission: Admission, outcome: { ok: true } | { ok: false; code: string; at: number }): void {
    queueMicrotask(() => {
      for (const { scope, probe } of admission) {
        const ref = this.host.child(`breaker:${scope}`);
        if (!ref) continue;
        const requestId = probe ?? undefined;
        if (outcome.ok) ref.send({ type: 'call.succeeded', requestId });
        else if ((scope.startsWith('worker:') ? WORKER_FAILURES : COMMAND_FAILURES).has(outcome.code)) {
          ref.send({ type: 'call.failed', at: outcome.at, requestId });
        } else if (probe) ref.send({ type: 'probe.released', requestId: probe });
      }
    });
  }

  /** The attempt ended without a verdict (drained, cancelled): free its probes. */
  release(admission: Admission): void {
    queueMicrotask(() => {
      for (const { scope, probe } of admission) {
        if (probe) this.host.child(`breaker:${scope}`)?.send({ type: 'probe.released', requestId: probe });
      }
    });
  }

  /** Every breaker's state, for `status()`. */
  describe(): Array<{ scope: string; state: string }> {
    return [...this.spawned].flatMap((scope) => {
      const ref = this.host.child(`breaker:${scope}`);
      return ref ? [{ scope, state: breakerStateOf(ref.getSnapshot() as CircuitBreakerSnapshot) }] : [];
    });
  }

  private refuse(admission: Admission): null {
    this.release(admission);
    return null;
  }
}
