/**
 * The worker's heartbeat: `coord:heartbeat` every `intervalMs` from a plain timer on the
 * main event loop. Nothing a task does runs on that loop (commands run in PTYs, handlers in
 * piscina threads, git in child processes), so a busy task cannot delay a beat; a missing
 * beat really does mean a stuck or dead worker.
 */
import type { WorkerMessageInput } from '../src/protocol/messages.js';

/** What the heartbeat needs to know about the worker. */
export interface HeartbeatOptions {
  workerId: string;
  intervalMs: number;
  /** Ids of the tasks in flight, read at each beat. */
  running: () => string[];
  send: (message: WorkerMessageInput) => void;
  /** Resident set size in bytes; defaults to `process.memoryUsage.rss()`. */
  rssBytes?: () => number;
}

/**
 * Sends one beat now and then one every `intervalMs`. Returns a function that stops it.
 *
 * @example
 * const stop = startHeartbeat({ workerId: 'w1', intervalMs: 1000, running: () => [], send });
 * stop();
 */
export function startHeartbeat(options: HeartbeatOptions): () => void {
  const rss = options.rssBytes ?? (() => process.memoryUsage.rss());
  const beat = (): void => {
    options.send({
      type: 'coord:heartbeat',
      workerId: options.workerId,
      sentAt: Date.now(),
      running: options.running(),
      rssBytes: Math.max(0, Math.round(rss())),
    });
  };
  beat();
  const timer = setInterval(beat, options.intervalMs);
  return () => clearInterval(timer);
}
