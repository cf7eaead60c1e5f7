/**
 * What SIGINT and SIGTERM mean to a running supervisor, for the one-shot CLI and the daemon
 * alike: the first drains (running tasks may finish), a second SIGINT stops at once.
 */
import type { Supervisor } from './supervisor-api.js';

export interface SignalReports {
  draining(signal: NodeJS.Signals): void;
  stopping(signal: NodeJS.Signals): void;
}

/** Installs the handlers; returns a function that removes them. */
export function drainOnSignals(supervisor: Pick<Supervisor, 'drain' | 'stop'>, say: SignalReports): () => void {
  let draining = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (!draining) {
      draining = true;
      say.draining(signal);
      void supervisor.drain();
      return;
    }
    if (signal === 'SIGINT') {
      say.stopping(signal);
      void supervisor.stop();
    }
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
