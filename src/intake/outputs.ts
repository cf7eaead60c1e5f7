/**
 * The files coord writes for others to read (docs/intake-and-pools.md): in the state
 * directory, `results/<taskId>.json` (the summary's task object) when a task completes,
 * `dlq/<taskId>.json` (its reason and attempt history) when it goes dead — removed again when
 * it is redriven, or starts again after a redrive made elsewhere — and `heartbeats/<workerId>.json` on every heartbeat of a worker. Each is
 * written whole by a rename (a reader never sees half a file), one write at a time per file,
 * so the last state is the one on disk.
 */
import { readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { jsonFile, writeFileAtomic } from '../files/atomic-write.js';
import type { Logger } from '../log/logger.js';
import type { SupervisorEventBus, SupervisorEvents } from '../supervisor/events.js';
import type { TaskSummary } from '../supervisor/summary.js';
import type { WorkerDescription } from '../supervisor/worker-registry.js';

export interface FileOutputsDeps {
  stateDir: string;
  events: SupervisorEventBus;
  logger: Logger;
  /** The summary's object for one task (undefined: the store no longer knows it). */
  taskSummary(taskId: string): Promise<TaskSummary | undefined>;
  /** One of coord's workers as `status()` describes it. */
  worker(workerId: string): WorkerDescription | undefined;
  now(): number;
}

/** `heartbeats/<workerId>.json` (its fields are a contract). */
export interface HeartbeatFile {
  workerId: string;
  pid: number | null;
  state: string;
  task: string | null;
  at: string;
  restarts: number;
}

/** Where the files go, under a state directory. */
export function outputDirsOf(stateDir: string): { results: string; dlq: string; heartbeats: string } {
  return { results: path.join(stateDir, 'results'), dlq: path.join(stateDir, 'dlq'), heartbeats: path.join(stateDir, 'heartbeats') };
}

export class FileOutputs {
  private readonly dirs: ReturnType<typeof outputDirsOf>;
  /** The last write (or removal) of each file, so writes of one file never overtake each other. */
  private readonly chains = new Map<string, Promise<void>>();
  private readonly off: Array<() => void> = [];
  /**
   * The tasks with a file in `dlq/` (listed once at the start, then kept up to date): a task
   * that starts again is looked up here, so a start costs no file system call.
   */
  private readonly deadLetters: Set<string>;
  private closed = false;

  constructor(private readonly deps: FileOutputsDeps) {
    this.dirs = outputDirsOf(deps.stateDir);
    this.deadLetters = new Set(listJson(this.dirs.dlq));
    const on = <K extends 'coord:complete' | 'coord:dead' | 'coord:redriven' | 'coord:started'>(name: K, listener: (payload: SupervisorEvents[K]) => void): void => {
      deps.events.on(name, listener);
      this.off.push(() => deps.events.off(name, listener));
    };
    on('coord:complete', ({ taskId }) => this.write(path.join(this.dirs.results, `${taskId}.json`), async () => {
      const task = await deps.taskSummary(taskId);
      return task === undefined ? null : task;
    }));
    on('coord:dead', ({ taskId, error }) => {
      this.deadLetters.add(taskId);
      this.write(path.join(this.dirs.dlq, `${taskId}.json`), async () => {
        const task = await deps.taskSummary(taskId);
        if (task === undefined || task.status !== 'dead') return null;
        return { taskId, reason: task.error ?? error, attempts: task.history, deadAt: task.finishedAt, task };
      });
    });
    // Back in play: redriven here, or elsewhere (`coord redrive` on the store) and now started again.
    on('coord:redriven', ({ changed }) => {
      for (const taskId of changed) this.removeDeadLetter(taskId);
    });
    on('coord:started', ({ taskId }) => this.removeDeadLetter(taskId));
  }

  /** A worker heartbeat: its file is written again. */
  heartbeat(workerId: string): void {
    const worker = this.deps.worker(workerId);
    if (worker === undefined) return;
    const file: HeartbeatFile = {
      workerId, pid: worker.pid, state: worker.state, task: worker.task, at: new Date(this.deps.now()).toISOString(), restarts: worker.restarts,
    };
    this.write(path.join(this.dirs.heartbeats, `${workerId}.json`), async () => file);
  }

  /** Stops listening and waits for the writes under way. */
  async close(): Promise<void> {
    this.closed = true;
    for (const off of this.off.splice(0)) off();
    await Promise.all([...this.chains.values()]);
  }

  /** Queues a write of `file` with what `content` resolves to (null: nothing to write). */
  private write(file: string, content: () => Promise<unknown>): void {
    this.chain(file, async () => {
      const value = await content();
      if (value !== null) await writeFileAtomic(file, jsonFile(value));
    });
  }

  private removeDeadLetter(taskId: string): void {
    if (!this.deadLetters.delete(taskId)) return;
    const file = path.join(this.dirs.dlq, `${taskId}.json`);
    this.chain(file, () => rm(file, { force: true }));
  }

  private chain(file: string, step: () => Promise<void>): void {
    if (this.closed) return;
    const previous = this.chains.get(file) ?? Promise.resolve();
    const next = previous.then(step).catch((error: unknown) => {
      this.deps.logger.warn({ err: error, file }, 'could not write a file for readers');
    });
    this.chains.set(file, next);
    void next.then(() => {
      if (this.chains.get(file) === next) this.chains.delete(file);
    });
  }
}

/** The names (without `.json`) of the JSON files in `dir`; none when it is missing. */
function listJson(dir: string): string[] {
  try {
    return readdirSync(dir).filter((name) => name.endsWith('.json') && !name.startsWith('.')).map((name) => name.slice(0, -'.json'.length));
  } catch {
    return [];
  }
}
