/**
 * Writing a file others read while coord runs (results, dead letters, heartbeats, handoff
 * files): the data goes to a temporary file beside the target, then a rename puts it in
 * place, so a reader sees the old file or the new one, never half of one. The temporary
 * name starts with a dot and ends in `.tmp`, which every watcher of coord's folders ignores.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

let sequence = 0;

/** A temporary name beside `file`, unique to this process and call. */
function temporaryOf(file: string): string {
  sequence = (sequence + 1) % Number.MAX_SAFE_INTEGER;
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${sequence}.tmp`);
}

/** Writes `data` to `file` whole or not at all (its folder is created when missing). */
export async function writeFileAtomic(file: string, data: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = temporaryOf(file);
  try {
    await writeFile(temporary, data);
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/** {@link writeFileAtomic}, synchronously (for what must be on disk before the next step). */
export function writeFileAtomicSync(file: string, data: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const temporary = temporaryOf(file);
  try {
    writeFileSync(temporary, data);
    renameSync(temporary, file);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}

/** JSON as coord writes it for people and scripts: two-space indented, with a final newline. */
export function jsonFile(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
