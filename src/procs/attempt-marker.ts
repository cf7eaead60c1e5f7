/**
 * The per-attempt marker every task process carries in its environment, so that the
 * processes of an attempt can be found again after they left its process group (a
 * double-forked `setsid` daemon): `COORD_ATTEMPT_MARKER=<runId>.<workerId>.<taskId>.<attempt>.<lease>`.
 *
 * The parts are ordered from the widest scope to the narrowest, so each scope a sweep needs
 * is a prefix: the supervisor's whole run (`<runId>.`), one worker slot of the run
 * (`<runId>.<workerId>.`), one attempt (the whole marker). No part before the task id may
 * hold a dot (run ids are hex, worker ids `[A-Za-z0-9_-]`), so a prefix ending in a dot can
 * never match another scope's marker; the lease makes two attempts with the same number
 * (an attempt returned unused by a drain and handed out again) different markers.
 */
import { randomBytes } from 'node:crypto';

/** The environment variable that carries the marker. */
export const MARKER_VAR = 'COORD_ATTEMPT_MARKER';

/** Which marked processes a sweep is after: one marker exactly, or every marker with a prefix. */
export type MarkerSelector = { exact: string } | { prefix: string };

/** The parts of one attempt's marker. */
export interface AttemptMarkerParts {
  runId: string;
  workerId: string;
  taskId: string;
  attempt: number;
  lease: string;
}

/** A fresh run id: 16 hex characters, created once per supervisor. */
export function newRunId(): string {
  return randomBytes(8).toString('hex');
}

/** The marker of one attempt. */
export function attemptMarker(parts: AttemptMarkerParts): string {
  return `${parts.runId}.${parts.workerId}.${parts.taskId}.${parts.attempt}.${parts.lease}`;
}

/** Selects every process of a supervisor's run. */
export function runSelector(runId: string): MarkerSelector {
  return { prefix: `${runId}.` };
}

/** Selects every process of every attempt one worker slot ran in a run (all its incarnations). */
export function workerSelector(runId: string, workerId: string): MarkerSelector {
  return { prefix: `${runId}.${workerId}.` };
}

/** Selects the processes of one attempt. */
export function attemptSelector(parts: AttemptMarkerParts): MarkerSelector {
  return { exact: attemptMarker(parts) };
}

/** True when `marker` is selected by `selector`. An empty marker is never selected. */
export function markerMatches(marker: string, selector: MarkerSelector): boolean {
  if (marker === '') return false;
  return 'exact' in selector ? marker === selector.exact : selector.prefix !== '' && marker.startsWith(selector.prefix);
}
