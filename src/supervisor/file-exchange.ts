/**
 * A run's file-drop surface (docs/intake-and-pools.md): the inbox it reads task files from,
 * and the files it writes for readers (`results/`, `dlq/`, `heartbeats/`). The writer is set
 * up with the run, the inbox once the run is running (it submits through the supervisor's
 * own `submit`); the inbox closes before the run, the writer after it, so the last results
 * of a drain are still written.
 */
import { FileOutputs, type FileOutputsDeps } from '../intake/outputs.js';
import { startIntake, type Intake, type IntakeOptions } from '../intake/intake.js';
import type { SupervisorEventBus } from './events.js';
import type { ResolvedOptions } from './options.js';

export class FileExchange {
  private outputs: FileOutputs | null = null;
  private intake: Intake | null = null;

  constructor(
    private readonly config: Pick<ResolvedOptions, 'inbox' | 'fileOutputs' | 'nodeId'>,
    private readonly events: SupervisorEventBus,
  ) {}

  /** The writer of the files for readers, when asked for (`fileOutputs`, by default with an inbox). */
  openOutputs(deps: Omit<FileOutputsDeps, 'events' | 'now'>): void {
    if (!(this.config.fileOutputs ?? typeof this.config.inbox === 'string')) return;
    this.outputs = new FileOutputs({ ...deps, events: this.events, now: Date.now });
  }

  /** Starts reading the inbox, when there is one. */
  startInbox(deps: Pick<IntakeOptions, 'logger' | 'submit'>): void {
    if (typeof this.config.inbox !== 'string') return;
    this.intake = startIntake({ dir: this.config.inbox, nodeId: this.config.nodeId, events: this.events, ...deps });
  }

  /** A worker's heartbeat: its file is written again. */
  heartbeat(workerId: string): void {
    this.outputs?.heartbeat(workerId);
  }

  /** Stops reading the inbox (a file in hand is finished first). */
  async closeInbox(): Promise<void> {
    await this.intake?.close();
  }

  /** Waits for the writes under way, and writes no more. */
  async closeOutputs(): Promise<void> {
    await this.outputs?.close();
  }
}
