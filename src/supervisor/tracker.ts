/**
 * The supervisor's background work — store calls made on behalf of events, dispatch passes,
 * timers — is tracked here, so that a stop can wait for all of it before the store closes,
 * and so that a failure in any of it goes one way: a storage fault stops the run, anything
 * else is logged with what was being done.
 */
import type { Logger } from '../log/logger.js';

export class Tracker {
  private readonly pending = new Set<Promise<unknown>>();

  /** `fatal` answers true for a storage fault it has handled (the run stops). */
  constructor(
    private readonly logger: Logger,
    private readonly fatal: (error: unknown) => boolean,
  ) {}

  /** Runs `job` in the background; `what` names it in the log if it fails. */
  run(what: string, job: Promise<unknown>): void {
    this.pending.add(job);
    job.then(
      () => this.pending.delete(job),
      (error: unknown) => {
        this.pending.delete(job);
        if (!this.fatal(error)) this.logger.error({ err: error }, `${what} failed`);
      },
    );
  }

  /** Resolves when every job started so far (and any they started) has finished. */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}
