/**
 * What dispatch and outcomes need of the workers, and nothing more: the slots to place tasks
 * on, handing a task over, asking for a cancel, taking a worker out of service, and two
 * facts the fallback chains use. {@link WorkerRegistry} implements it over the worker
 * actors; unit tests use a fake.
 */
import type { ParentMessageOf } from '../protocol/messages.js';
import type { WorkerSlot } from '../pool/assign.js';

export interface WorkerPool {
  /** Every worker slot as it is now (idle = the worker machine is in `idle` and in service). */
  slots(): WorkerSlot[];
  /** Hands an assign message to the worker; false if it cannot take it now. */
  assign(workerId: string, message: ParentMessageOf<'coord:assign'>): boolean;
  /** Asks the worker running `taskId` to cancel it (nothing if it no longer runs it); `graceful` is the first signal its processes get. */
  cancel(workerId: string, taskId: string, reason: string, graceful?: 'SIGTERM' | 'SIGINT'): void;
  /** Takes the worker out of service for the rest of the run; true the first time. */
  retire(workerId: string, reason: string): boolean;
  /** The worker restarts in a loop (for the fallback chain's shortcut). */
  crashLooping(workerId: string): boolean;
  /** The worker is failed or exited: it will never take a task again. */
  gone(workerId: string): boolean;
}
