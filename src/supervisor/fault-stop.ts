/**
 * The one place a storage fault ends the run. Store calls fail in many places — the
 * dispatcher's tracked calls, lease upkeep timers, the counts cache, service answers, the
 * log file — and each used to log and carry on, so a corrupt store produced a log line per
 * dispatch pass, forever. Every one of them now hands its error here: a storage fault
 * (STORE_CORRUPT, DISK_FULL, STATE_DIR_UNWRITABLE, STORE_UNAVAILABLE) is logged once and
 * asks the coordinator to drain and stop with it as the run's error; later faults are not
 * logged again but still reach the coordinator (a second fault during the drain stops it
 * at once: the store is still failing, so waiting for results it cannot record is pointless).
 */
import type { CoordError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { storageFault, type FaultPlace } from '../store/storage-fault.js';

/** What the fault stop needs from the supervisor. */
export interface FaultStopDeps {
  logger(): Logger;
  /** Asks the coordinator to drain and stop, failed with `error`. */
  stop(error: CoordError): void;
}

/** Routes storage faults to one coordinator stop, logged once. */
export class FaultStop {
  private firstFault: CoordError | undefined;

  constructor(private readonly deps: FaultStopDeps) {}

  /** The first storage fault of the run, if any. */
  get fault(): CoordError | undefined {
    return this.firstFault;
  }

  /**
   * Handles `error` when it is a storage fault (`place` names the file for a raw errno, e.g.
   * the log file's ENOSPC) and returns true; returns false for anything else, which the
   * caller reports as it always did.
   */
  fatal(error: unknown, place?: FaultPlace): boolean {
    const fault = storageFault(error, place ?? { kind: 'file', path: 'unknown' });
    if (fault === null) return false;
    if (this.firstFault === undefined) {
      this.firstFault = fault;
      try {
        this.deps.logger().error({ code: fault.code, ...fault.details }, `${fault.code}: ${fault.message} — draining and stopping`);
      } catch {
        // The logger may be what failed; the coordinator's error still carries the fault.
      }
    }
    this.deps.stop(fault);
    return true;
  }
}
