/**
 * coord's public API.
 *
 * @example
 * ```ts
 * import { createSupervisor } from 'coord';
 * const supervisor = createSupervisor({ repo: '.', workers: 4 });
 * await supervisor.start();
 * await supervisor.submit([{ id: 'hello', run: ['echo', 'hello'] }]);
 * await supervisor.settled();
 * await supervisor.drain();
 * ```
 */
export { createSupervisor } from './supervisor/supervisor.js';
export type { Supervisor, SupervisorStatus, CoordinatorActor } from './supervisor/supervisor.js';
export type { SupervisorOptions } from './supervisor/options.js';
export type { SupervisorEvents, SupervisorEventName, SupervisorEventBus, TaskErrorInfo } from './supervisor/events.js';
export type { HistoryEntry, RunSummary, TaskSummary } from './supervisor/summary.js';
export { CoordError, isCoordError, isCoordErrorCode, COORD_ERROR_CODES, type CoordErrorCode } from './errors.js';
export { TaskSpecSchema, isSafeTaskId, type TaskSpec, type TaskSpecInput } from './tasks/spec.js';
export { loadTaskFile, parseTaskFileText } from './tasks/load.js';
export { createRoundRobin, type AssignStrategy, type WorkerSlot } from './pool/assign.js';
export { coordinatorMachine, type CoordinatorState } from '../machines/coordinator.js';
export { workerMachine } from '../machines/worker.js';
export { PROTOCOL_VERSION } from './protocol/messages.js';
export { waitForPoolAt, type WaitForPoolOptions } from './pools/wait-for-pool.js';
export type { PoolStatus } from './pools/readiness.js';
export type { HeartbeatFile } from './intake/outputs.js';
export type { InboxError } from './intake/inbox.js';
