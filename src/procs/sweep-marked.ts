/**
 * Kills every process that carries a selected marker. These are leftovers: the attempt's own
 * graceful stop (SIGTERM, then SIGKILL, to its process group) has already happened, so there
 * is no politeness left to offer and SIGKILL is sent at once.
 *
 * A marked process may fork between the listing of `/proc` and the kill, and its child would
 * be missed by a single pass. So found processes are first stopped (SIGSTOP: a stopped
 * process cannot fork), the scan is repeated until it finds nobody new, and only then is
 * everyone found killed. The number of passes is bounded, so a fork bomb that outruns the
 * scan costs a bounded amount of time (what it left is reported as `complete: false`).
 */
import { performance } from 'node:perf_hooks';
import type { MarkerSelector } from './attempt-marker.js';
import { currentProcess, findMarked, linuxProc, type ProcSource, type ScanSelf } from './find-marked.js';
import { MarkerMemo } from './marker-memo.js';

/** What one sweep did. */
export interface SweepResult {
  /** False on systems without `/proc/<pid>/environ` (anything but Linux): nothing was scanned. */
  supported: boolean;
  /** Every pid that was found and signalled. */
  killed: number[];
  passes: number;
  /** False when the last pass still found new processes (the pass limit was reached). */
  complete: boolean;
  durationMs: number;
}

/** Signals one pid; tests pass a fake. Must not throw for a pid that is gone. */
export type SignalFn = (pid: number, signal: 'SIGSTOP' | 'SIGKILL') => void;

const realSignal: SignalFn = (pid, signal) => {
  try {
    process.kill(pid, signal);
  } catch {
    // gone already (ESRCH) or, impossibly for our uid, not ours (EPERM): nothing to do
  }
};

/** What a sweep may be given instead of the real `/proc`, `process.kill` and platform. */
export interface SweepDeps {
  source?: ProcSource;
  signal?: SignalFn;
  self?: ScanSelf;
  platform?: NodeJS.Platform;
  maxPasses?: number;
  /** What earlier sweeps learnt (marker-memo.ts); by default this process's own, for the real `/proc`; null: read everything. */
  memo?: MarkerMemo | null;
  /** Waits before the look again at processes seen with an empty environment (by default 2 ms for the real `/proc`); null: no second look. */
  pause?: (() => void) | null;
}

/** The memo of every sweep of the real `/proc` in this process. */
const processMemo = new MarkerMemo();
const PAUSE = new Int32Array(new SharedArrayBuffer(4));
/** 2 ms, synchronously: a sweep also runs in a worker about to exit, which cannot await. */
const pauseBriefly = (): void => void Atomics.wait(PAUSE, 0, 0, 2);

/**
 * Stops, then kills, every process of our uid (never us or our ancestors) whose marker
 * `selector` selects. Synchronous: it must also work in a worker that is about to exit.
 *
 * @example
 * const result = sweepMarked(attemptSelector({ runId, workerId: 'w1', taskId: 'a', attempt: 1, lease }));
 * if (result.killed.length > 0) logger.log('warn', 'killed leftover task processes', { pids: result.killed });
 */
export function sweepMarked(selector: MarkerSelector, deps: SweepDeps = {}): SweepResult {
  const startedAt = performance.now();
  if ((deps.platform ?? process.platform) !== 'linux') {
    return { supported: false, killed: [], passes: 0, complete: true, durationMs: 0 };
  }
  const source = deps.source ?? linuxProc;
  const signal = deps.signal ?? realSignal;
  const self = deps.self ?? currentProcess();
  const maxPasses = deps.maxPasses ?? 8;
  const memo = deps.memo !== undefined ? deps.memo : source === linuxProc ? processMemo : null;
  memo?.begin(source.counter?.() ?? null, Date.now());
  const found = new Set<number>();
  let passes = 0;
  let complete = false;
  const pause = deps.pause !== undefined ? deps.pause : source === linuxProc ? pauseBriefly : null;
  let lookedAgain = false;
  while (passes < maxPasses) {
    passes += 1;
    const unsure: number[] = [];
    const fresh = findMarked(selector, source, self, memo, unsure).filter((pid) => !found.has(pid));
    // A process caught in the middle of an exec shows no environment for a moment: one more
    // pass a moment later sees what it execs with (kernel threads stay empty; one look only).
    if (fresh.length === 0 && unsure.length > 0 && !lookedAgain && pause !== null) {
      lookedAgain = true;
      pause();
      continue;
    }
    if (fresh.length === 0) {
      complete = true;
      break;
    }
    for (const pid of fresh) {
      found.add(pid);
      signal(pid, 'SIGSTOP');
    }
  }
  for (const pid of found) signal(pid, 'SIGKILL');
  memo?.end();
  return { supported: true, killed: [...found], passes, complete, durationMs: performance.now() - startedAt };
}
