/**
 * `coord daemon install` / `uninstall`: the daemon as a user service, so it starts at login
 * and again after a crash. Linux: a systemd user unit in `~/.config/systemd/user/`, then
 * `systemctl --user daemon-reload` and `enable --now`. macOS: a launchd agent in
 * `~/Library/LaunchAgents/`, loaded with `launchctl bootstrap`. Where neither service
 * manager is usable, SERVICE_MANAGER_UNAVAILABLE says so and points at `--print`, which
 * writes the file to stdout and installs nothing.
 *
 * The commands run through an injected `run`, so the logic is tested with a recording fake;
 * the rendered unit itself is checked by the real `systemd-analyze verify`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { access, chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CoordError } from '../errors.js';
import { launchdLabelOf, renderLaunchdPlist } from './launchd-plist.js';
import type { ServicePlan } from './service-plan.js';
import { renderSystemdUnit } from './systemd-unit.js';

export { DEFAULT_STOP_TIMEOUT_SEC, type ServicePlan } from './service-plan.js';
export { renderSystemdUnit, systemdExecStart } from './systemd-unit.js';
export { launchdLabelOf, renderLaunchdPlist } from './launchd-plist.js';

/** The service managers coord can install into. */
export type ServiceManager = 'systemd' | 'launchd';

/** What running one command gave. `code` is null when it could not be started or was killed. */
export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** What install and uninstall need from the machine. */
export interface ServiceDeps {
  manager: ServiceManager;
  home: string;
  run(argv: string[]): Promise<RunResult>;
  /** The user whose launchd GUI domain is used (`gui/<uid>`). Default: this process's. */
  uid?: number;
}

/** What {@link detectServiceManager} looks at. */
export interface DetectDeps {
  platform?: NodeJS.Platform;
  /** Runs a probe command synchronously. Default: `spawnSync`, 5 s at most. */
  probe?(argv: string[]): { code: number | null; stderr: string };
}

const PRINT_HINT = 'Run `coord daemon install --print` to write the service file to stdout, and install it with whatever manages services here.';

/**
 * The service name of the daemon for `repoRoot`: `coord-<basename>`, with anything but
 * `[A-Za-z0-9_.-]` turned into `-`. Two repositories with the same folder name share it.
 *
 * @example
 * ```ts
 * serviceNameFor('/home/me/My App'); // 'coord-My-App'
 * ```
 */
export function serviceNameFor(repoRoot: string): string {
  const base = path.basename(path.resolve(repoRoot))
    .replace(/[^A-Za-z0-9_.-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    // systemd refuses unit names over 255 bytes; leave room for `.service`
    .slice(0, 200);
  return `coord-${base === '' || /^\.+$/.test(base) ? 'repo' : base}`;
}

function defaultProbe(argv: string[]): { code: number | null; stderr: string } {
  const [file = '', ...args] = argv;
  const result = spawnSync(file, args, { encoding: 'utf8', timeout: 5_000, stdio: ['ignore', 'ignore', 'pipe'] });
  return { code: result.status, stderr: result.error?.message ?? result.stderr ?? '' };
}

/**
 * The service manager usable here: systemd when `systemctl --user` reaches a running user
 * manager, launchd on macOS when `launchctl` answers. Throws SERVICE_MANAGER_UNAVAILABLE
 * (with the `--print` hint) otherwise.
 */
export function detectServiceManager(deps: DetectDeps = {}): ServiceManager {
  const platform = deps.platform ?? process.platform;
  const probe = deps.probe ?? defaultProbe;
  const unavailable = (why: string, details: Record<string, unknown>): never => {
    throw new CoordError('SERVICE_MANAGER_UNAVAILABLE', `no usable service manager: ${why}. ${PRINT_HINT}`, { details: { platform, ...details } });
  };
  if (platform === 'linux') {
    const argv = ['systemctl', '--user', 'show-environment'];
    const { code, stderr } = probe(argv);
    if (code === 0) return 'systemd';
    return unavailable(`\`${argv.join(' ')}\` failed (${stderr.trim() || `exit ${code}`}), so no systemd user manager runs for this user`, { argv, code, stderr });
  }
  if (platform === 'darwin') {
    const argv = ['launchctl', 'version'];
    const { code, stderr } = probe(argv);
    if (code === 0) return 'launchd';
    return unavailable(`\`${argv.join(' ')}\` failed (${stderr.trim() || `exit ${code}`})`, { argv, code, stderr });
  }
  return unavailable(`coord installs services with systemd (Linux) or launchd (macOS), not on ${platform}`, {});
}

/** Where the service file of `name` goes: `~/.config/systemd/user/<name>.service` or `~/Library/LaunchAgents/<label>.plist`. */
export function unitPathOf(manager: ServiceManager, name: string, home: string = os.homedir()): string {
  return manager === 'systemd'
    ? path.join(home, '.config', 'systemd', 'user', `${name}.service`)
    : path.join(home, 'Library', 'LaunchAgents', `${launchdLabelOf(name)}.plist`);
}

/** The service file's text for `manager` (what `--print` writes). */
export function renderService(manager: ServiceManager, plan: ServicePlan): string {
  return manager === 'systemd' ? renderSystemdUnit(plan) : renderLaunchdPlist(plan);
}

/** SERVICE_MANAGER_UNAVAILABLE for a command that failed, with what it said. */
function commandFailed(argv: string[], result: RunResult): CoordError {
  const said = result.stderr.trim() || result.stdout.trim() || `exit ${result.code ?? 'by signal'}`;
  return new CoordError('SERVICE_MANAGER_UNAVAILABLE', `\`${argv.join(' ')}\` failed: ${said}`, {
    details: { argv, code: result.code, stderr: result.stderr },
  });
}

/** Runs `argv`; a non-zero exit throws. */
async function mustRun(deps: ServiceDeps, argv: string[]): Promise<void> {
  const result = await deps.run(argv);
  if (result.code !== 0) throw commandFailed(argv, result);
}

function guiDomain(deps: ServiceDeps): string {
  const uid = deps.uid ?? process.getuid?.();
  if (uid === undefined) throw new CoordError('SERVICE_MANAGER_UNAVAILABLE', `launchd needs a user id, which this platform does not give. ${PRINT_HINT}`);
  return `gui/${uid}`;
}

/**
 * Writes the service file (mode 0644) and starts the service now and at every login. An
 * install over an installed service rewrites its file; a daemon already running keeps its
 * old command line until it is restarted (`systemctl --user restart`, or uninstall + install).
 */
export async function installService(plan: ServicePlan, deps: ServiceDeps): Promise<{ path: string }> {
  // Rendered before anything is written: a plan that cannot be expressed changes nothing.
  const text = renderService(deps.manager, plan);
  const file = unitPathOf(deps.manager, plan.name, deps.home);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, text, { mode: 0o644 });
  // writeFile's mode applies only to a new file; the umask may also have narrowed it.
  await chmod(file, 0o644);
  if (deps.manager === 'systemd') {
    await mustRun(deps, ['systemctl', '--user', 'daemon-reload']);
    await mustRun(deps, ['systemctl', '--user', 'enable', '--now', `${plan.name}.service`]);
  } else {
    const domain = guiDomain(deps);
    const argv = ['launchctl', 'bootstrap', domain, file];
    const result = await deps.run(argv);
    // bootstrap refuses a label that is already loaded: that one is installed already.
    if (result.code !== 0 && (await deps.run(['launchctl', 'print', `${domain}/${launchdLabelOf(plan.name)}`])).code !== 0) {
      throw commandFailed(argv, result);
    }
  }
  return { path: file };
}

/**
 * Stops the service, disables it and removes its file. `removed` is false when there was no
 * file (nothing coord installed; no command is run then).
 */
export async function uninstallService(name: string, deps: ServiceDeps): Promise<{ path: string; removed: boolean }> {
  const file = unitPathOf(deps.manager, name, deps.home);
  const exists = await access(file).then(() => true, (error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return false;
    throw error;
  });
  if (!exists) return { path: file, removed: false };
  if (deps.manager === 'systemd') {
    // Before the file goes: `disable` reads it to find the links `enable` made.
    await mustRun(deps, ['systemctl', '--user', 'disable', '--now', `${name}.service`]);
    await rm(file, { force: true });
    await mustRun(deps, ['systemctl', '--user', 'daemon-reload']);
  } else {
    const target = `${guiDomain(deps)}/${launchdLabelOf(name)}`;
    const argv = ['launchctl', 'bootout', target];
    const result = await deps.run(argv);
    // bootout fails for a label that is not loaded: then there was nothing to stop.
    if (result.code !== 0 && (await deps.run(['launchctl', 'print', target])).code === 0) throw commandFailed(argv, result);
    await rm(file, { force: true });
  }
  return { path: file, removed: true };
}

/** The default `run`: spawns `argv` without a shell, never rejects. */
export function runCommand(argv: string[]): Promise<RunResult> {
  const [file = '', ...args] = argv;
  return new Promise((resolve) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
    child.on('error', (error) => resolve({ code: null, stdout, stderr: stderr + error.message }));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
