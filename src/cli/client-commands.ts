/**
 * The commands that talk to a running daemon: `coord submit FILE`, `coord cancel ID`,
 * `coord watch [--machines]`. `submit` and `watch` need one (exit 3 when none runs); `cancel`
 * without a daemon changes the store directly when no supervisor runs on it.
 */
import { CoordError } from '../errors.js';
import { daemonFilesOf } from '../control/daemon-files.js';
import { connectControl, type ControlClient } from '../control/socket-client.js';
import type { EventLine } from '../control/protocol.js';
import { MachineLines } from '../inspect/machine-lines.js';
import { plural } from '../plural.js';
import { loadTaskFile } from '../tasks/load.js';
import { locateState, refuseWhileRunning, withStateStore, type StateFlags } from './state.js';
import { processOut, type Out } from './store-commands.js';

const TERMINAL = new Set(['complete', 'dead', 'blocked', 'cancelled']);

/** Connects to the daemon of the located state; `DAEMON_NOT_RUNNING` (exit 3) when none answers. */
async function daemonOf(flags: StateFlags): Promise<{ client: ControlClient; stateDir: string }> {
  const { stateDir } = await locateState(flags);
  return { client: await connectControl(daemonFilesOf(stateDir).socket), stateDir };
}

/** `coord submit FILE [--json]`: validates the file here (all or nothing), then submits it to the daemon. */
export async function submitCommand(flags: StateFlags & { file: string; json?: boolean }, io: Out = processOut): Promise<number> {
  const tasks = await loadTaskFile(flags.file);
  const { client } = await daemonOf(flags);
  try {
    const { ids } = await client.request<{ ids: string[] }>('submit', { tasks });
    if (flags.json) io.out(`${JSON.stringify({ ids })}\n`);
    else {
      for (const id of ids) io.out(`${id}\n`);
      const known = tasks.length - ids.length;
      io.err(`submitted ${plural(ids.length, 'task')}${known > 0 ? ` (${plural(known, 'was', 'were')} already stored)` : ''}\n`);
    }
    return 0;
  } finally {
    client.close();
  }
}

/** `coord cancel ID…`: through the daemon when one runs, else straight in the store. */
export async function cancelCommand(flags: StateFlags & { ids: string[] }, io: Out = processOut): Promise<number> {
  if (flags.ids.length === 0) throw new CoordError('USAGE', 'name the tasks to cancel');
  const { stateDir } = await locateState(flags);
  let client: ControlClient | undefined;
  try {
    client = await connectControl(daemonFilesOf(stateDir).socket);
  } catch {
    client = undefined;
  }
  let failed = 0;
  const report = (id: string, changed: string[]): void => {
    const dependents = changed.filter((other) => other !== id);
    io.out(`cancelled ${id}${dependents.length > 0 ? `; blocked ${plural(dependents.length, 'dependent')} (${dependents.join(', ')})` : ''}\n`);
  };
  if (client) {
    try {
      for (const id of flags.ids) {
        try {
          report(id, (await client.request<{ changed: string[] }>('cancel', { taskId: id })).changed);
        } catch (error) {
          failed += 1;
          const coded = error instanceof CoordError ? error : new CoordError('INTERNAL', String(error));
          io.err(`coord: ${coded.code}: ${coded.message}\n`);
        }
      }
    } finally {
      client.close();
    }
    return failed > 0 ? 1 : 0;
  }
  // A one-shot run would go on running a task cancelled behind its back.
  refuseWhileRunning(stateDir, 'coord cancel (without a daemon)');
  return withStateStore(flags, 'write', async (store) => {
    for (const id of flags.ids) {
      const task = await store.get(id);
      if (!task) {
        failed += 1;
        io.err(`coord: TASK_NOT_FOUND: no task "${id}" in the store\n`);
      } else if (TERMINAL.has(task.status)) {
        failed += 1;
        io.err(`coord: TASK_STATE_CONFLICT: task "${id}" is ${task.status}: only a task that is not finished can be cancelled\n`);
      } else {
        report(id, await store.cancel(id, Date.now()));
      }
    }
    return failed > 0 ? 1 : 0;
  });
}

/**
 * `coord watch [--json] [--machines]`: the daemon's events as they happen, until interrupted or
 * the daemon stops. With `--machines`, its actors' state changes instead (the socket's
 * `inspect` stream; `--json`: its messages as they come).
 */
export async function watchCommand(flags: StateFlags & { json?: boolean; machines?: boolean }, io: Out = processOut): Promise<number> {
  const { client } = await daemonOf(flags);
  try {
    if (flags.machines) {
      const lines = new MachineLines();
      await client.inspect((message) => io.out(flags.json ? `${JSON.stringify(message)}\n` : lines.consume(message).map((line) => `${line}\n`).join('')));
    } else {
      await client.subscribe((line) => io.out(flags.json ? `${JSON.stringify(line)}\n` : `${describeEventLine(line)}\n`));
    }
  } catch (error) {
    // A refused stream (a daemon without `inspect`) must not keep the connection, and so the process, alive.
    client.close();
    throw error;
  }
  const interrupted = new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await Promise.race([client.closed, interrupted]);
  client.close();
  return 0;
}

/** One event for people: time, name, the task or worker, and what matters of the rest. */
export function describeEventLine(line: EventLine): string {
  const data = (line.data ?? {}) as Record<string, unknown>;
  const time = line.at.slice(11, 19);
  const ids = Array.isArray(data['taskIds']) ? (data['taskIds'] as unknown[]).map(String).join(', ') : undefined;
  const subject = [data['taskId'] ?? ids, data['workerId'] ? `on ${String(data['workerId'])}` : undefined].filter(Boolean).join(' ');
  const error = data['error'] as { code?: string; message?: string } | undefined;
  const extra = error?.code ? ` ${error.code}: ${error.message ?? ''}` : data['state'] ? ` ${String(data['state'])}` : '';
  return `${time} ${line.event.replace(/^coord:/, '')}${subject ? ` ${subject}` : ''}${extra}`;
}
