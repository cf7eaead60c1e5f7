/**
 * Waiting for a supervisor's event as a positive signal: resolves with the first event of
 * `type` whose payload passes `test` (listening from the call on).
 */
import type { Supervisor } from '../../src/index.js';

export function nextEvent<T>(s: Pick<Supervisor, 'events'>, type: string, test: (payload: T) => boolean = () => true): Promise<T> {
  return new Promise((resolve) => {
    const stop = s.events.onAny((name, payload) => {
      if (name === type && test(payload as T)) {
        stop();
        resolve(payload as T);
      }
    });
  });
}
