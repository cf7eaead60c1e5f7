/**
 * Command-line flags, parsed with `node:util` `parseArgs` in strict mode: an unknown flag or a
 * bad value is a `USAGE` error (exit 2) with a message saying which and why.
 */
import { parseArgs } from 'node:util';
import { parseHttpAddress } from '../config/http-address.js';
import { CoordError } from '../errors.js';
import { LOG_LEVELS, type LogLevel } from '../log/logger.js';
import { DEFAULT_MAX_LOG_BYTES, MAX_LOG_BYTES, MIN_LOG_BYTES } from '../log/task-log-format.js';

/**
 * What the CLI was asked to do. A setting the config file or a `COORD_*` variable can also
 * hold is undefined when its flag is not given, so that they show through (`loadRunConfig`
 * layers them); the defaults are applied after, by `createSupervisor()`.
 */
export interface CliArgs {
  help: boolean;
  version: boolean;
  demo: boolean;
  /** Keep the demo's scratch repository after the run. */
  keep: boolean;
  /** Start over: archive the stored queue and remove the task file's old branches first. */
  fresh: boolean;
  once: boolean;
  /** `--config FILE`: the config file, relative to the working directory. */
  config: string | undefined;
  workers: number | undefined;
  repo: string | undefined;
  tasks: string | undefined;
  summary: string | undefined;
  stateDir: string | undefined;
  worktreeRoot: string | undefined;
  logLevel: LogLevel | undefined;
  heartbeatMs: number | undefined;
  drainDeadlineMs: number | undefined;
  /** True with `--allow-dirty`; undefined without it (the file or environment may say). */
  allowDirty: boolean | undefined;
  store: string | undefined;
  nodeId: string | undefined;
  leaseMs: number | undefined;
  maxLogBytes: number | undefined;
  /** A remote name, `false` for `--remote none`, undefined for the default. */
  remote: string | false | undefined;
  /** `--http HOST:PORT`, checked. */
  http: string | undefined;
  /** `--inbox DIR`, or false for `--inbox none`. */
  inbox: string | false | undefined;
}

export const USAGE = `Usage: coord [options]        (or: node supervisor.js [options])

Runs a graph of tasks on N forked workers, each in its own git worktree.

  --config FILE         settings file, YAML or JSON (default: coord.yaml at the repository
                        root, when there is one; see docs/config.md). Flags override COORD_*
                        environment variables, which override the file
  --workers N           worker processes (default 4)
  --repo PATH           the git repository to work on (default: current directory)
  --tasks FILE          task file, JSON or YAML: {"tasks": [...]}; without it, the stored
                        queue is resumed (tasks of an earlier, interrupted run)
  --once                exit when every task is terminal: 0 all complete, 1 otherwise
  --summary FILE        write the run summary JSON to FILE
  --state-dir DIR       logs and state (default: <repo>/.git/coord)
  --worktree-root DIR   where worker worktrees live (default: <repo>/../<name>.coord-worktrees)
  --store URL           sqlite:PATH (default sqlite:<state-dir>/coord.db), postgres://…, memory:
  --node-id ID          this supervisor's name in a shared store (default: the host name)
  --lease-ms MS         claim lease length; a dead supervisor's tasks return after it (default 15000)
  --remote NAME|none    the git remote hosts share task branches through (default: origin
                        with a postgres:// store, if the clone has it; none otherwise)
  --log-level LEVEL     ${LOG_LEVELS.join(', ')} (default info)
  --max-log-bytes N     task output kept per attempt log: its first and last halves
                        (default ${DEFAULT_MAX_LOG_BYTES}, 50 MiB; ${MIN_LOG_BYTES} to ${MAX_LOG_BYTES})
  --heartbeat-ms MS     worker heartbeat interval (default 2000)
  --drain-deadline-ms MS  how long a drain lets running tasks finish (default 30000)
  --http HOST:PORT      with coord daemon start: serve the HTTP API there (port 0: a free
                        port, which coord daemon status reports)
  --inbox DIR|none      submit the task files dropped into DIR, and write results/, dlq/
                        and heartbeats/ in the state directory (a daemon's default:
                        <state-dir>/inbox; see docs/intake-and-pools.md)
  --fresh               start over: archive the stored queue (SQLite) and remove the old
                        coord/<id> branches of the task file's tasks, then run it as new
  --allow-dirty         run even if the repository has uncommitted changes
  --demo                run a demo graph in a scratch repository (removed after the run)
  --keep                with --demo: keep the scratch repository
  -h, --help            show this help
  -v, --version         print the version

Exit codes: 0 all tasks complete, 1 some task dead/blocked/cancelled or the run failed,
2 bad usage, configuration or task file.`;

/** Parses argv (without node and script), throwing `USAGE` errors. */
export function parseCliArgs(argv: readonly string[]): CliArgs {
  let values: ReturnType<typeof parse>['values'];
  try {
    ({ values } = parse(argv));
  } catch (error) {
    throw new CoordError('USAGE', error instanceof Error ? error.message : String(error), { cause: error });
  }
  const level = values['log-level'];
  if (level !== undefined && !(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new CoordError('USAGE', `--log-level must be one of ${LOG_LEVELS.join(', ')}, not "${level}"`);
  }
  if (values.http !== undefined) parseHttpAddress(values.http);
  return {
    help: values.help ?? false,
    version: values.version ?? false,
    demo: values.demo ?? false,
    keep: values.keep ?? false,
    fresh: values.fresh ?? false,
    once: values.once ?? false,
    config: values.config,
    workers: integerFlag('--workers', values.workers, 1, 64),
    repo: values.repo,
    tasks: values.tasks,
    summary: values.summary,
    stateDir: values['state-dir'],
    worktreeRoot: values['worktree-root'],
    logLevel: level as LogLevel | undefined,
    heartbeatMs: integerFlag('--heartbeat-ms', values['heartbeat-ms'], 50, 3_600_000),
    drainDeadlineMs: integerFlag('--drain-deadline-ms', values['drain-deadline-ms'], 0, 86_400_000),
    allowDirty: values['allow-dirty'],
    store: values.store,
    nodeId: values['node-id'],
    leaseMs: integerFlag('--lease-ms', values['lease-ms'], 200, 3_600_000),
    maxLogBytes: integerFlag('--max-log-bytes', values['max-log-bytes'], MIN_LOG_BYTES, MAX_LOG_BYTES),
    remote: values.remote === 'none' ? false : values.remote,
    http: values.http,
    inbox: values.inbox === 'none' ? false : values.inbox,
  };
}

/**
 * `--workers -1` would reach the parser as a flag `-1`: a value that looks like a negative
 * number is joined to its flag (`--workers=-1`), so the flag's own check can say what is wrong.
 */
function joinNegativeValues(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] as string;
    const next = argv[i + 1];
    const name = arg.startsWith('--') ? arg.slice(2) : null;
    if (name !== null && OPTIONS[name as keyof typeof OPTIONS]?.type === 'string' && next !== undefined && /^-\d/.test(next)) {
      out.push(`${arg}=${next}`);
      i += 1;
    } else {
      out.push(arg);
    }
  }
  return out;
}

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
  demo: { type: 'boolean' },
  keep: { type: 'boolean' },
  fresh: { type: 'boolean' },
  once: { type: 'boolean' },
  config: { type: 'string' },
  workers: { type: 'string', short: 'w' },
  repo: { type: 'string' },
  tasks: { type: 'string' },
  summary: { type: 'string' },
  'state-dir': { type: 'string' },
  'worktree-root': { type: 'string' },
  'log-level': { type: 'string' },
  'heartbeat-ms': { type: 'string' },
  'drain-deadline-ms': { type: 'string' },
  'allow-dirty': { type: 'boolean' },
  store: { type: 'string' },
  'node-id': { type: 'string' },
  'lease-ms': { type: 'string' },
  'max-log-bytes': { type: 'string' },
  remote: { type: 'string' },
  http: { type: 'string' },
  inbox: { type: 'string' },
} as const;

function parse(argv: readonly string[]) {
  return parseArgs({
    args: joinNegativeValues(argv),
    strict: true,
    allowPositionals: false,
    options: OPTIONS,
  });
}

function integerFlag(name: string, raw: string | undefined, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new CoordError('USAGE', `${name} must be an integer from ${min} to ${max}, not "${raw}"`);
  }
  return value;
}
