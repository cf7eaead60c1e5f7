/**
 * The worker's side of the shared rate limiter: before an attempt under a rate key starts,
 * it asks the supervisor (`coord:rate-request`) and waits for `coord:rate-grant` or
 * `coord:rate-wait`. A cancel while waiting ends the wait. The decision is the supervisor's
 * (src/coordination/rate-limiter.ts); this only carries the question and the answer.
 */
import type { ParentMessageOf, WorkerMessageInput } from '../src/protocol/messages.js';

export type RateLeave = { granted: true } | { granted: false; retryAfterMs: number } | { cancelled: true };

type Answer = ParentMessageOf<'coord:rate-grant'> | ParentMessageOf<'coord:rate-wait'>;

export class RateGate {
  readonly #pending = new Map<string, (answer: Answer) => void>();
  #next = 0;

  constructor(private readonly send: (message: WorkerMessageInput) => void) {}

  /** Asks leave to start the attempt `ref` under `key`. */
  ask(ref: { taskId: string; attempt: number; lease: string }, key: string, signal: AbortSignal): Promise<RateLeave> {
    if (signal.aborted) return Promise.resolve({ cancelled: true });
    this.#next += 1;
    const requestId = `rate-${this.#next}`;
    return new Promise<RateLeave>((resolve) => {
      const onAbort = (): void => {
        this.#pending.delete(requestId);
        resolve({ cancelled: true });
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#pending.set(requestId, (answer) => {
        signal.removeEventListener('abort', onAbort);
        resolve(answer.type === 'coord:rate-grant' ? { granted: true } : { granted: false, retryAfterMs: answer.retryAfterMs });
      });
      this.send({ type: 'coord:rate-request', requestId, taskId: ref.taskId, attempt: ref.attempt, lease: ref.lease, key, tokens: 0 });
    });
  }

  /** An answer from the supervisor; false when it answers no question of ours. */
  answer(message: Answer): boolean {
    const resolve = this.#pending.get(message.requestId);
    if (resolve === undefined) return false;
    this.#pending.delete(message.requestId);
    resolve(message);
    return true;
  }
}
