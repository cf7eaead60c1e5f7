/**
 * What an aborted attempt's AbortSignal carries: why, and the first signal its process group
 * gets (SIGINT lets an agent stop gracefully; SIGTERM otherwise). SIGKILL follows after the
 * kill grace either way.
 */

/** Why an attempt was aborted, and how its processes are asked to stop first. */
export interface CancelReason {
  reason: string;
  graceful: 'SIGTERM' | 'SIGINT';
}

/** The first signal an aborted attempt's process group gets (SIGTERM unless the cancel asked for SIGINT). */
export function gracefulSignalOf(signal: AbortSignal): 'SIGTERM' | 'SIGINT' {
  const reason = signal.reason as Partial<CancelReason> | undefined;
  return reason?.graceful === 'SIGINT' ? 'SIGINT' : 'SIGTERM';
}
