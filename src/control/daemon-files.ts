/**
 * Where a daemon keeps its files in the state directory: the socket (`coord.sock`), the facts
 * file other commands read (`daemon.json`: pid, socket, HTTP address, start time), the log
 * (`logs/coord.log`) and a detached daemon's own stdout/stderr (`logs/daemon.out`).
 */
import { readFileSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import type { DaemonFacts } from './control-api.js';

export interface DaemonFiles {
  socket: string;
  facts: string;
  log: string;
  out: string;
}

export function daemonFilesOf(stateDir: string): DaemonFiles {
  return {
    socket: path.join(stateDir, 'coord.sock'),
    facts: path.join(stateDir, 'daemon.json'),
    log: path.join(stateDir, 'logs', 'coord.log'),
    out: path.join(stateDir, 'logs', 'daemon.out'),
  };
}

/** Writes the facts file atomically (a reader never sees half of it). */
export function writeDaemonFacts(file: string, facts: DaemonFacts): void {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(facts, null, 2)}\n`, { mode: 0o600 });
  renameSync(temporary, file);
}

/** The facts file's content, or null when there is none (or it cannot be read). */
export function readDaemonFacts(file: string): DaemonFacts | null {
  try {
    const value = JSON.parse(readFileSync(file, 'utf8')) as DaemonFacts;
    return typeof value.pid === 'number' ? value : null;
  } catch {
    return null;
  }
}

export function removeDaemonFacts(file: string): void {
  rmSync(file, { force: true });
}
