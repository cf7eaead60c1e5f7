/**
 * `coord daemon start|status|stop|logs|install|uninstall`: a long-lived supervisor for the
 * repository and what manages it. Every command finds the daemon through `--state-dir DIR`
 * or `--repo PATH` (default: the repository of the current directory). Exit codes: 0 ok,
 * 1 failed, 2 usage or refused (`DAEMON_RUNNING`), 3 no daemon running.
 */
import { existsSync, readFileSync, realpathSync, watch } from 'node:fs';
import { open as openFile, stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { prettyFactory } from 'pino-pretty';
import { CoordError } from '../errors.js';
import type { DaemonStatus } from '../control/control-api.js';
import { daemonFilesOf, readDaemonFacts } from '../control/daemon-files.js';
import { runDaemon } from '../control/daemon.js';
import { startDetached } from '../control/detach.js';
import { socketAnswers } from '../control/socket-server.js';
import { connectControl } from '../control/socket-client.js';
import { loadRunConfig } from '../config/run-options.js';
import { parseCliArgs } from './args.js';
import { locateState, type StateFlags } from './state.js';
import { processOut, type Out } from './store-commands.js';
import { installCommand, uninstallCommand } from './service-commands.js';

export const DAEMON_USAGE = `Usage: coord daemon <command>
  start [run flags] [--http HOST:PORT] [--detach]   run a long-lived supervisor (foreground unless --detach)
  status                                            JSON status; exit 3 when no daemon runs
  stop [--now]                                      drain (or stop at once) and wait until it is gone
  logs [--lines N] [--follow] [--json]              the daemon's log
  install [--print] [run flags] [--http HOST:PORT]  install as a user service (systemd or launchd)
  uninstall                                         remove the user service
Each takes --repo PATH or --state-dir DIR (default: the repository of the current directory).`;

/** Runs `coord daemon …argv`; resolves with the exit code. */
export async function daemonCommand(argv: readonly string[], io: Out = processOut): Promise<number> {
  const [verb, ...rest] = argv;
  switch (verb) {
    case 'start':
      return startCommand(rest, io);
    case 'status':
      return statusCommand(stateFlags(rest, {}, 'status').flags, io);
    case 'stop': {
      const { flags, values } = stateFlags(rest, { now: { type: 'boolean' } }, 'stop');
      return stopCommand(flags, values['now'] === true, io);
    }
    case 'logs': {
      const { flags, values } = stateFlags(rest, { lines: { type: 'string', short: 'n' }, follow: { type: 'boolean', short: 'f' }, json: { type: 'boolean' } }, 'logs');
      const lines = values['lines'] === undefined ? 50 : Number(values['lines']);
      if (!Number.isInteger(lines) || lines < 0) throw new CoordError('USAGE', `--lines must be a whole number, not "${String(values['lines'])}"`);
      return logsCommand(flags, { lines, follow: values['follow'] === true, json: values['json'] === true }, io);
    }
    case 'install':
      return installCommand(rest, io);
    case 'uninstall':
      return uninstallCommand(stateFlags(rest, {}, 'uninstall').flags, io);
    case undefined:
    case '--help':
    case '-h':
      io.out(`${DAEMON_USAGE}\n`);
      return verb === undefined ? 2 : 0;
    default:
      throw new CoordError('USAGE', `unknown daemon command "${verb}"\n${DAEMON_USAGE}`);
  }
}

/** `daemon start`'s own flag taken out of a run's flags (`--http` is a run flag: flags, `COORD_HTTP` or the file). */
export interface DaemonStartFlags {
  detach: boolean;
  /** The rest: a run's flags, as given. */
  runArgv: string[];
}

/** Takes `--detach` out of `argv`, leaving a run's flags. */
export function splitDaemonFlags(argv: readonly string[]): DaemonStartFlags {
  return { detach: argv.includes('--detach'), runArgv: argv.filter((arg) => arg !== '--detach') };
}

async function startCommand(argv: readonly string[], io: Out): Promise<number> {
  const flags = splitDaemonFlags(argv);
  const args = parseCliArgs(flags.runArgv);
  if (args.tasks !== undefined || args.once || args.demo || args.fresh) {
    throw new CoordError('USAGE', 'coord daemon start runs until stopped: submit work with coord submit FILE (no --tasks, --once, --demo or --fresh)');
  }
  const config = await loadRunConfig(args, { env: process.env, cwd: process.cwd() });
  const { http } = config;
  for (const warning of config.warnings) process.stderr.write(`coord: ${warning}\n`);
  const location = await locateState({ repo: config.options.repo, stateDir: config.options.stateDir, store: typeof config.options.store === 'string' ? config.options.store : undefined });
  const files = daemonFilesOf(location.stateDir);
  if (await socketAnswers(files.socket)) {
    throw new CoordError('DAEMON_RUNNING', `a coord daemon is already running for ${location.stateDir} (pid ${readDaemonFacts(files.facts)?.pid ?? '?'}); coord daemon stop stops it`, { details: { socket: files.socket } });
  }
  if (flags.detach) {
    const script = realpathSync(process.argv[1] ?? '');
    const status = await startDetached({
      script, args: ['daemon', 'start', ...flags.runArgv],
      cwd: process.cwd(), socket: files.socket, out: files.out,
    });
    io.out(`${JSON.stringify({ pid: status.pid, socket: status.socket, http: status.http })}\n`);
    return 0;
  }
  return runDaemon({
    config,
    stateDir: location.stateDir,
    http,
    onReady: (facts) => process.stderr.write(`coord daemon: pid ${facts.pid}, socket ${facts.socket}${facts.http ? `, http ${facts.http}` : ''}, log ${files.log}\n`),
  });
}

async function statusCommand(flags: StateFlags, io: Out): Promise<number> {
  const { stateDir } = await locateState(flags);
  const { socket } = daemonFilesOf(stateDir);
  let client;
  try {
    // A daemon still starting may not listen yet: ask again for a moment before saying none runs.
    client = await connectControl(socket, { retryForMs: 1_500 });
  } catch {
    io.out(`${JSON.stringify({ running: false, socket })}\n`);
    return 3;
  }
  try {
    io.out(`${JSON.stringify(await client.request<DaemonStatus>('status'))}\n`);
    return 0;
  } finally {
    client.close();
  }
}

async function stopCommand(flags: StateFlags, now: boolean, io: Out): Promise<number> {
  const { stateDir } = await locateState(flags);
  const { socket } = daemonFilesOf(stateDir);
  let client;
  try {
    client = await connectControl(socket);
  } catch {
    io.err(`coord: no daemon is running for ${stateDir}\n`);
    return 3;
  }
  const { pid } = await client.request<DaemonStatus>('status');
  await client.request(now ? 'stop' : 'drain');
  io.err(`coord daemon: pid ${pid} ${now ? 'stopping' : 'draining'}…\n`);
  await client.closed;
  await processGone(pid);
  io.out(`stopped (pid ${pid})\n`);
  return 0;
}

/** Resolves once `pid` is gone (its socket closing comes just before the process exits). */
async function processGone(pid: number): Promise<void> {
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ESRCH') return;
      throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function logsCommand(flags: StateFlags, options: { lines: number; follow: boolean; json: boolean }, io: Out): Promise<number> {
  const { stateDir } = await locateState(flags);
  const { log } = daemonFilesOf(stateDir);
  if (!existsSync(log)) throw new CoordError('STATE_NOT_FOUND', `no daemon log at ${log}: no daemon has run here yet`);
  const render = options.json ? (line: string) => `${line}\n` : prettyFactory({ colorize: process.stdout.isTTY === true, translateTime: 'SYS:yyyy-mm-dd HH:MM:ss', ignore: 'hostname' });
  const print = (lines: string[]): void => {
    for (const line of lines) if (line.trim() !== '') io.out(options.json ? `${line}\n` : prettyLine(render, line));
  };
  const text = readFileSync(log, 'utf8');
  const lines = text.split('\n').filter((line) => line !== '');
  print(options.lines === 0 ? [] : lines.slice(-options.lines));
  if (!options.follow) return 0;
  let offset = Buffer.byteLength(text);
  let partial = '';
  await new Promise<void>((resolve) => {
    let busy = Promise.resolve();
    const watcher = watch(log, () => {
      busy = busy.then(async () => {
        const { size } = await stat(log);
        if (size <= offset) return;
        const handle = await openFile(log, 'r');
        try {
          const buffer = Buffer.alloc(size - offset);
          await handle.read(buffer, 0, buffer.length, offset);
          offset = size;
          const chunk = partial + buffer.toString('utf8');
          const complete = chunk.split('\n');
          partial = complete.pop() ?? '';
          print(complete);
        } finally {
          await handle.close();
        }
      });
    });
    const stop = (): void => {
      watcher.close();
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}

function prettyLine(render: (line: string) => string, line: string): string {
  try {
    JSON.parse(line);
  } catch {
    return `${line}\n`;
  }
  const out = render(line);
  return out.endsWith('\n') ? out : `${out}\n`;
}

function stateFlags(argv: readonly string[], options: Record<string, { type: 'string' | 'boolean'; short?: string }>, verb: string) {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv], strict: true, allowPositionals: false,
      options: { repo: { type: 'string' }, 'state-dir': { type: 'string' }, store: { type: 'string' }, ...options },
    }) as { values: Record<string, string | boolean | undefined> });
  } catch (error) {
    throw new CoordError('USAGE', `coord daemon ${verb}: ${error instanceof Error ? error.message : String(error)}\n${DAEMON_USAGE}`);
  }
  const flags: StateFlags = { repo: values['repo'] as string | undefined, stateDir: values['state-dir'] as string | undefined, store: values['store'] as string | undefined };
  return { flags, values };
}
