/**
 * Declared files at work in a run: a task that declares `files` globs does not start while
 * a task whose globs overlap runs (held `FILES_BUSY`), so declared overlaps never run side by
 * side. The claim is taken at dispatch and given back when the attempt ends.
 */
import { globsOverlap } from '../../coordination/file-globs.js';
import type { TaskSpec } from '../../tasks/spec.js';
import type { Hold } from './rates.js';

export class FileClaims {
  private readonly running = new Map<string, readonly string[]>();

  /** The running task whose declared files overlap `spec`'s, as a hold; null when none does. */
  check(spec: Pick<TaskSpec, 'id' | 'files'>): Hold | null {
    if (spec.files === undefined || spec.files.length === 0) return null;
    for (const [taskId, globs] of this.running) {
      if (taskId !== spec.id && globsOverlap(spec.files, globs)) return { code: 'FILES_BUSY', scope: `files:${taskId}` };
    }
    return null;
  }

  /** `spec` was claimed: its files are in use until {@link ended}. */
  claimed(spec: Pick<TaskSpec, 'id' | 'files'>): void {
    if (spec.files !== undefined && spec.files.length > 0) this.running.set(spec.id, spec.files);
  }

  ended(taskId: string): void {
    this.running.delete(taskId);
  }
}
