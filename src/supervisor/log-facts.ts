/**
 * A task log's size and truncation, read back from the file alone (its size, and the trailer
 * the worker writes as its last line), so the summary says the same after a restart as it
 * would have said before it: nothing here comes from memory.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { parseLogTrailer } from '../log/task-log-format.js';

/** What the summary says about one attempt's log. */
export interface TaskLogFacts {
  file: string;
  /** The file's size on disk. */
  bytes: number;
  /**
   * From the trailer: bytes the task printed, bytes of it kept, the cap, whether anything was
   * elided. All null when there is no trailer: the attempt is still running, or its worker
   * died before closing the log.
   */
  outputBytes: number | null;
  keptBytes: number | null;
  capBytes: number | null;
  truncated: boolean | null;
}

/** The trailer is one short line; 4 KiB leaves room for any width of number. */
const TAIL_BYTES = 4_096;
/** Summaries of thousands of tasks should not open thousands of files at once. */
const CONCURRENCY = 16;

/** The facts of the log at `file`, or null when there is no such file (or it cannot be read). */
export async function readLogFacts(file: string): Promise<TaskLogFacts | null> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch {
    return null;
  }
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, TAIL_BYTES);
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, size - length);
    const trailer = parseLogTrailer(buffer.subarray(0, bytesRead).toString('utf8'));
    return {
      file,
      bytes: size,
      outputBytes: trailer?.outputBytes ?? null,
      keptBytes: trailer?.keptBytes ?? null,
      capBytes: trailer?.capBytes ?? null,
      truncated: trailer?.truncated ?? null,
    };
  } catch {
    return null;
  } finally {
    await handle.close();
  }
}

/** {@link readLogFacts} for many files, a few at a time; keyed by file. */
export async function readAllLogFacts(files: readonly string[]): Promise<Map<string, TaskLogFacts | null>> {
  const facts = new Map<string, TaskLogFacts | null>();
  let next = 0;
  const reader = async (): Promise<void> => {
    while (next < files.length) {
      const file = files[next] ?? '';
      next += 1;
      facts.set(file, await readLogFacts(file));
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, files.length) }, reader));
  return facts;
}
