/**
 * `coord daemon install [--print]` / `coord daemon uninstall`: the daemon as a user service
 * (a systemd user unit on Linux, a launchd agent on macOS) running the exact command line
 * given here, from this working directory. `--print` writes the unit and installs nothing.
 */
import { realpathSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { daemonFilesOf } from '../control/daemon-files.js';
import {
  detectServiceManager, installService, renderLaunchdPlist, renderSystemdUnit, runCommand as run, serviceNameFor, uninstallService,
  type ServicePlan,
} from '../control/service-unit.js';
import { parseCliArgs } from './args.js';
import { locateState, type StateFlags } from './state.js';
import type { Out } from './store-commands.js';

/** The environment a service needs to behave like this shell: PATH (agent CLIs live on it) and every COORD_* variable. */
function serviceEnvironment(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined && (key === 'PATH' || key.startsWith('COORD_'))) out[key] = value;
  return out;
}

async function planOf(runArgv: readonly string[]): Promise<ServicePlan> {
  const args = parseCliArgs(runArgv);
  const { repo, stateDir } = await locateState({ repo: args.repo, stateDir: args.stateDir });
  const root = repo?.root ?? stateDir;
  const script = realpathSync(process.argv[1] ?? '');
  return {
    name: serviceNameFor(root),
    command: [process.execPath, script, 'daemon', 'start', ...runArgv],
    workingDirectory: process.cwd(),
    environment: serviceEnvironment(process.env),
    description: `coord daemon for ${root}`,
    logFile: path.join(path.dirname(daemonFilesOf(stateDir).log), 'daemon.out'),
  };
}

/** `coord daemon install [--print] [run flags] [--http HOST:PORT]`: `argv` is what follows `install`. */
export async function installCommand(argv: readonly string[], io: Out): Promise<number> {
  const print = argv.includes('--print');
  // A service runs in the foreground: --detach would make the unit's process exit at once.
  const plan = await planOf(argv.filter((arg) => arg !== '--print' && arg !== '--detach'));
  if (print) {
    io.out(process.platform === 'darwin' ? renderLaunchdPlist(plan) : renderSystemdUnit(plan));
    return 0;
  }
  const manager = detectServiceManager();
  const { path: file } = await installService(plan, { manager, home: os.homedir(), run });
  io.out(`installed ${plan.name} (${manager}): ${file}\n`);
  io.err(manager === 'systemd'
    ? `started; systemctl --user status ${plan.name} shows it, coord daemon uninstall removes it\n`
    : `started; launchctl print gui/${process.getuid?.() ?? ''}/${plan.name} shows it, coord daemon uninstall removes it\n`);
  return 0;
}

/** `coord daemon uninstall`. */
export async function uninstallCommand(flags: StateFlags, io: Out): Promise<number> {
  const { repo, stateDir } = await locateState(flags);
  const name = serviceNameFor(repo?.root ?? stateDir);
  const manager = detectServiceManager();
  const { path: file, removed } = await uninstallService(name, { manager, home: os.homedir(), run });
  io.out(removed ? `uninstalled ${name}: removed ${file}\n` : `no service ${name} was installed (${file} does not exist)\n`);
  return 0;
}
