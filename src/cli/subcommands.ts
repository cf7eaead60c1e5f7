/**
 * `coord <command>`: the commands beside a run, each with its own flags (parsed strictly, as
 * the run's are). Every one finds the state through `--state-dir DIR` or `--repo PATH`
 * (default: the repository of the current directory) and `--store URL`.
 */
import { parseArgs } from 'node:util';
import { CoordError } from '../errors.js';
import { cleanCommand } from './clean.js';
import { cancelCommand, submitCommand, watchCommand } from './client-commands.js';
import { daemonCommand } from './daemon-commands.js';
import { inspectCommand } from './inspect-command.js';
import { poolsCommand } from './pools-command.js';
import { machinesCommand } from './machines-commands.js';
import { messageCommand, unblockCommand } from './mailbox-commands.js';
import { logsCommand, redriveCommand, statusCommand, taskCommand, tasksCommand } from './store-commands.js';

const STATE_OPTIONS = {
  repo: { type: 'string' },
  'state-dir': { type: 'string' },
  store: { type: 'string' },
} as const;

/** A command with its flags parsed here, or (`raw`) one that parses its own argv (`daemon`, whose verbs each have their flags). */
type Subcommand =
  | {
      usage: string;
      raw?: undefined;
      options: Record<string, { type: 'string' | 'boolean'; short?: string }>;
      positionals: 'none' | 'one' | 'many';
      run(values: Record<string, string | boolean | undefined>, positionals: string[]): Promise<number>;
    }
  | { usage: string; raw(argv: readonly string[]): Promise<number> };

const state = (values: Record<string, string | boolean | undefined>) => ({
  repo: values['repo'] as string | undefined,
  stateDir: values['state-dir'] as string | undefined,
  store: values['store'] as string | undefined,
});

export const SUBCOMMANDS: Record<string, Subcommand> = {
  status: {
    usage: 'coord status [--json]                 counts, the running supervisor, what is in flight, the last events',
    options: { json: { type: 'boolean' } },
    positionals: 'none',
    run: (v) => statusCommand({ ...state(v), json: v['json'] === true }),
  },
  tasks: {
    usage: 'coord tasks [--status S] [--json]     one line per task',
    options: { status: { type: 'string' }, json: { type: 'boolean' } },
    positionals: 'none',
    run: (v) => tasksCommand({ ...state(v), status: v['status'] as string | undefined, json: v['json'] === true }),
  },
  task: {
    usage: 'coord task ID [--json]                a task whole: status, branch, error, log, every start',
    options: { json: { type: 'boolean' } },
    positionals: 'one',
    run: (v, [id = '']) => taskCommand({ ...state(v), id, json: v['json'] === true }),
  },
  logs: {
    usage: 'coord logs ID [--attempt N] [--follow] an attempt\'s output (the latest by default)',
    options: { attempt: { type: 'string' }, follow: { type: 'boolean', short: 'f' } },
    positionals: 'one',
    run: (v, [id = '']) => logsCommand({ ...state(v), id, attempt: attemptFlag(v['attempt'] as string | undefined), follow: v['follow'] === true }),
  },
  redrive: {
    usage: 'coord redrive ID… | --dead            dead tasks back to ready (a running supervisor picks them up)',
    options: { dead: { type: 'boolean' } },
    positionals: 'many',
    run: (v, ids) => redriveCommand({ ...state(v), ids, dead: v['dead'] === true }),
  },
  submit: {
    usage: 'coord submit FILE [--json]            submit a task file to the running daemon (all or nothing)',
    options: { json: { type: 'boolean' } },
    positionals: 'one',
    run: (v, [file = '']) => submitCommand({ ...state(v), file, json: v['json'] === true }),
  },
  cancel: {
    usage: 'coord cancel ID…                      cancel tasks that are not finished (dependents blocked)',
    options: {},
    positionals: 'many',
    run: (v, ids) => cancelCommand({ ...state(v), ids }),
  },
  message: {
    usage: 'coord message ID TEXT [--json]        a message for an agent task (resumes or types into its session; - reads stdin)',
    options: { json: { type: 'boolean' } },
    positionals: 'many',
    run: (v, [id = '', ...rest]) => {
      if (id === '' || rest.length !== 1) throw new CoordError('USAGE', 'coord message takes a task id and the text (quote it; - reads it from stdin)');
      return messageCommand({ ...state(v), id, text: rest[0] ?? '', json: v['json'] === true });
    },
  },
  unblock: {
    usage: 'coord unblock ID --reason TEXT         lift a loop safeguard\'s block (the reason is kept in the history)',
    options: { reason: { type: 'string' } },
    positionals: 'one',
    run: (v, [id = '']) => unblockCommand({ ...state(v), id, reason: v['reason'] as string | undefined }),
  },
  watch: {
    usage: 'coord watch [--json] [--machines]     the running daemon\'s events (--machines: every actor\'s state change), live, until Ctrl-C',
    options: { json: { type: 'boolean' }, machines: { type: 'boolean' } },
    positionals: 'none',
    run: (v) => watchCommand({ ...state(v), json: v['json'] === true, machines: v['machines'] === true }),
  },
  daemon: {
    usage: 'coord daemon start|status|stop|logs|install|uninstall   a long-lived supervisor (coord daemon --help)',
    raw: (argv) => daemonCommand(argv),
  },
  inspect: {
    usage: 'coord inspect [--no-open]             a one-time link to the daemon\'s live inspector page (every machine, offline)',
    options: { 'no-open': { type: 'boolean' } },
    positionals: 'none',
    run: (v) => inspectCommand({ ...state(v), open: v['no-open'] !== true }),
  },
  pools: {
    usage: 'coord pools [ID] [--json]             each pool\'s readiness (workers ready, busy, in all); with ID: exit 0 ready, 1 not',
    options: { json: { type: 'boolean' } },
    positionals: 'many',
    run: (v, names) => {
      if (names.length > 1) throw new CoordError('USAGE', 'coord pools takes one pool id at most');
      return poolsCommand({ ...state(v), pool: names[0], json: v['json'] === true });
    },
  },
  machines: {
    usage: 'coord machines export [--format json|mermaid|dot] [--out DIR] [--doc FILE]\n'
      + '                                       the machines\' definitions: JSON, Mermaid or DOT (coord machines --help)',
    raw: (argv) => machinesCommand(argv),
  },
  clean: {
    usage: 'coord clean [--branches] [--worktrees] [--state] [--worktree-root DIR] [--yes]\n'
      + '                                       remove coord\'s branches, worktrees and state (all three by default)',
    options: { branches: { type: 'boolean' }, worktrees: { type: 'boolean' }, state: { type: 'boolean' }, yes: { type: 'boolean', short: 'y' }, 'worktree-root': { type: 'string' } },
    positionals: 'none',
    run: (v) => cleanCommand({
      ...state(v), branches: v['branches'] === true, worktrees: v['worktrees'] === true, state: v['state'] === true, yes: v['yes'] === true,
      worktreeRoot: v['worktree-root'] as string | undefined,
    }),
  },
};

/** The commands' part of `coord --help`. */
export const SUBCOMMANDS_USAGE = `Commands (each also takes --repo PATH, --state-dir DIR, --store URL):

${Object.values(SUBCOMMANDS).map((command) => `  ${command.usage}`).join('\n')}`;

/** Runs `coord <name> …argv`; resolves with the exit code. */
export async function runSubcommand(name: string, argv: readonly string[]): Promise<number> {
  const command = SUBCOMMANDS[name];
  if (!command) throw new CoordError('USAGE', `unknown command "${name}"`);
  if (command.raw) return command.raw(argv);
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], strict: true, allowPositionals: command.positionals !== 'none', options: { ...STATE_OPTIONS, ...command.options } });
  } catch (error) {
    throw new CoordError('USAGE', `coord ${name}: ${error instanceof Error ? error.message : String(error)}\nusage: ${command.usage}`);
  }
  if (command.positionals === 'one' && parsed.positionals.length !== 1) {
    throw new CoordError('USAGE', `coord ${name} takes one ${name === 'submit' ? 'task file' : 'task id'}\nusage: ${command.usage}`);
  }
  return command.run(parsed.values as Record<string, string | boolean | undefined>, parsed.positionals);
}

function attemptFlag(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw new CoordError('USAGE', `--attempt must be a positive integer, not "${raw}"`);
  return Number(raw);
}
