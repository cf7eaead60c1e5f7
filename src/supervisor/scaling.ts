/**
 * Changing the worker count of a running supervisor. Scaling up prepares each new slot's
 * worktree (one at a time, as at start) and adds its worker to the coordinator; scaling down
 * dismisses workers, idle ones first and then the newest: a dismissed worker takes no new
 * task, stops once the one it holds is done, and then leaves the coordinator's list. Requests
 * are applied one after another, so the last one asked wins.
 */
import type { WorkerInput } from '../../machines/worker.js';
import { CoordError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { SupervisorEventBus } from './events.js';
import type { WorkerRegistry } from './worker-registry.js';

export const MAX_WORKERS = 64;

export interface ScalingDeps {
  registry: Pick<WorkerRegistry, 'serving' | 'ids' | 'dismiss' | 'describe'>;
  /** Prepares the slot `workerId` (its worktree), as at start. */
  prepare(workerId: string): Promise<WorkerInput>;
  /** Adds prepared workers to the coordinator. */
  add(workers: WorkerInput[]): void;
  /** Whether the supervisor is still running (a drain or stop ends scaling). */
  running(): boolean;
  events: SupervisorEventBus;
  logger(): Logger;
}

/** The result of one scaling request. */
export interface ScaleResult {
  from: number;
  to: number;
  added: string[];
  removed: string[];
}

/** The number in a worker id `wN`. */
const indexOf = (workerId: string): number => Number(/^w(\d+)$/.exec(workerId)?.[1] ?? 0);

/**
 * The workers to dismiss to go from `serving` down by `count`: idle ones first, then the
 * highest-numbered. Pure.
 */
export function chooseDismissals(serving: ReadonlyArray<{ id: string; busy: boolean }>, count: number): string[] {
  return [...serving]
    .sort((a, b) => Number(a.busy) - Number(b.busy) || indexOf(b.id) - indexOf(a.id))
    .slice(0, Math.max(0, count))
    .map((w) => w.id);
}

/** The ids of `count` new workers: the lowest numbers not in use (a worker still stopping keeps its id). Pure. */
export function nextWorkerIds(inUse: readonly string[], count: number): string[] {
  const taken = new Set(inUse);
  const ids: string[] = [];
  for (let i = 1; ids.length < count; i += 1) if (!taken.has(`w${i}`)) ids.push(`w${i}`);
  return ids;
}

export class WorkerScaler {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: ScalingDeps) {}

  /** Scales to `count` workers; resolves once the new ones are added (dismissed ones stop in their own time). */
  scale(count: number): Promise<ScaleResult> {
    if (!Number.isInteger(count) || count < 1 || count > MAX_WORKERS) {
      return Promise.reject(new CoordError('USAGE', `workers must be an integer from 1 to ${MAX_WORKERS}, not ${String(count)}`));
    }
    const next = this.queue.then(() => this.scaleNow(count));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async scaleNow(count: number): Promise<ScaleResult> {
    const { registry, events } = this.deps;
    if (!this.deps.running()) throw new CoordError('NOT_RUNNING', 'cannot change the worker count: the supervisor is not running');
    const serving = registry.serving();
    const from = serving.length;
    const added: string[] = [];
    let removed: string[] = [];
    if (count > from) {
      for (const workerId of nextWorkerIds(registry.ids(), count - from)) {
        const input = await this.deps.prepare(workerId);
        if (!this.deps.running()) break;
        this.deps.add([input]);
        added.push(workerId);
      }
    } else if (count < from) {
      const described = new Map(registry.describe().map((w) => [w.id, w]));
      removed = chooseDismissals(serving.map((id) => ({ id, busy: described.get(id)?.task != null })), from - count);
      for (const workerId of removed) registry.dismiss(workerId);
    }
    const result = { from, to: from + added.length - removed.length, added, removed };
    if (added.length > 0 || removed.length > 0) {
      this.deps.logger().info(result, `workers: ${from} -> ${result.to}`);
      events.emit('coord:workers-scaled', result);
    }
    return result;
  }
}
