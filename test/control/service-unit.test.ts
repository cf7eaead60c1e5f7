/**
 * The daemon's service files: rendered text, quoting, install and uninstall against a
 * recording fake `run` in a temporary home, and the rendered systemd unit checked by the
 * real `systemd-analyze verify` (and the plist by a real plist parser).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isCoordError } from '../../src/errors.js';
import {
  detectServiceManager, installService, renderLaunchdPlist, renderSystemdUnit, runCommand, serviceNameFor, uninstallService, unitPathOf,
  type RunResult, type ServiceDeps, type ServiceManager, type ServicePlan,
} from '../../src/control/service-unit.js';

const plan = (overrides: Partial<ServicePlan> = {}): ServicePlan => ({
  name: 'coord-app',
  command: ['/usr/bin/node', '/opt/coord/supervisor.js', 'daemon', 'run'],
  workingDirectory: '/home/me/app',
  environment: { PATH: '/usr/local/bin:/usr/bin', COORD_LOG: 'info' },
  description: 'coord daemon for /home/me/app',
  ...overrides,
});

/** The error `fn` throws, for its code and message. */
function thrown(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (error) {
    if (isCoordError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('did not throw');
}

/** The value of `setting=` lines in a unit. */
const settings = (unit: string, setting: string): string[] =>
  unit.split('\n').filter((line) => line.startsWith(`${setting}=`)).map((line) => line.slice(setting.length + 1));

describe('serviceNameFor', () => {
  it('is coord-<basename>, with anything outside [A-Za-z0-9_.-] turned into -', () => {
    expect(serviceNameFor('/home/me/my-app')).toBe('coord-my-app');
    expect(serviceNameFor('/home/me/My App (2)/')).toBe('coord-My-App-2');
    expect(serviceNameFor('/srv/café%$x')).toBe('coord-caf-x');
    expect(serviceNameFor('/srv/v1.2_rc')).toBe('coord-v1.2_rc');
    expect(serviceNameFor('/')).toBe('coord-repo');
  });
});

describe('renderSystemdUnit', () => {
  it('writes the unit the contract describes', () => {
    expect(renderSystemdUnit(plan())).toBe([
      '# Written by `coord daemon install`; `coord daemon uninstall` removes it.',
      '[Unit]',
      'Description=coord daemon for /home/me/app',
      'After=network.target',
      '',
      '[Service]',
      'Type=simple',
      'ExecStart="/usr/bin/node" "/opt/coord/supervisor.js" "daemon" "run"',
      'WorkingDirectory=/home/me/app',
      'Environment="PATH=/usr/local/bin:/usr/bin"',
      'Environment="COORD_LOG=info"',
      'Restart=on-failure',
      'RestartSec=2',
      'KillMode=mixed',
      'KillSignal=SIGTERM',
      'TimeoutStopSec=60',
      '',
      '[Install]',
      'WantedBy=default.target',
      '',
    ].join('\n'));
  });

  it('quotes arguments: C escapes for \\ and ", %% for specifiers, $$ for substitution (not in the executable)', () => {
    const unit = renderSystemdUnit(plan({
      command: ['/opt/node 100% $HOME/bin/node', '/my scripts/d.js', 'say "hi"', 'C:\\dir', '100%', '$HOME', '${X}', ';', "it's", 'a\nb\tc', ''],
    }));
    expect(settings(unit, 'ExecStart')).toEqual([
      '"/opt/node 100%% $HOME/bin/node" "/my scripts/d.js" "say \\"hi\\"" "C:\\\\dir" "100%%" "$$HOME" "$${X}" ";" "it\'s" "a\\nb\\tc" ""',
    ]);
  });

  it('quotes environment values, escapes % in paths and the description, adds the log file', () => {
    const unit = renderSystemdUnit(plan({
      workingDirectory: '/home/me/100% app',
      environment: { WEIRD: 'a "b" 50% $c \\d' },
      description: 'coord\nfor 100%',
      logFile: '/home/me/100% app/.coord/daemon.log',
      stopTimeoutSec: 95,
    }));
    expect(settings(unit, 'Environment')).toEqual(['"WEIRD=a \\"b\\" 50%% $c \\\\d"']);
    expect(settings(unit, 'WorkingDirectory')).toEqual(['/home/me/100%% app']);
    expect(settings(unit, 'Description')).toEqual(['coord for 100%%']);
    expect(settings(unit, 'StandardOutput')).toEqual(['append:/home/me/100%% app/.coord/daemon.log']);
    expect(settings(unit, 'StandardError')).toEqual(['append:/home/me/100%% app/.coord/daemon.log']);
    expect(settings(unit, 'TimeoutStopSec')).toEqual(['95']);
  });

  it('refuses what systemd could not run as meant', () => {
    // systemd's own rule: an executable path with a quote or backslash is a fatal unit error
    expect(thrown(() => renderSystemdUnit(plan({ command: ['/opt/o\'brien/node', 'x'] })))).toMatchObject({ code: 'SERVICE_MANAGER_UNAVAILABLE', message: expect.stringContaining('--print') });
    expect(thrown(() => renderSystemdUnit(plan({ command: ['node', 'x'] }))).code).toBe('USAGE');
    expect(thrown(() => renderSystemdUnit(plan({ command: [] }))).code).toBe('USAGE');
    expect(thrown(() => renderSystemdUnit(plan({ workingDirectory: 'relative' }))).code).toBe('USAGE');
    // a newline would end the setting and start another one
    expect(thrown(() => renderSystemdUnit(plan({ workingDirectory: '/a\nExecStartPre=/bin/evil' }))).code).toBe('USAGE');
    expect(thrown(() => renderSystemdUnit(plan({ environment: { 'BAD NAME': 'x' } }))).code).toBe('USAGE');
    expect(thrown(() => renderSystemdUnit(plan({ stopTimeoutSec: 0 }))).code).toBe('USAGE');
  });
});

describe('renderLaunchdPlist', () => {
  it('writes a user agent: label, arguments, directory, environment, RunAtLoad, KeepAlive on failure, logs', () => {
    const plist = renderLaunchdPlist(plan({ logFile: '/home/me/app/.coord/daemon.log' }));
    expect(plist).toContain('<key>Label</key><string>coord-app</string>');
    expect(plist).toContain([
      '  <key>ProgramArguments</key>',
      '  <array>',
      '    <string>/usr/bin/node</string>',
      '    <string>/opt/coord/supervisor.js</string>',
      '    <string>daemon</string>',
      '    <string>run</string>',
      '  </array>',
    ].join('\n'));
    expect(plist).toContain('<key>WorkingDirectory</key><string>/home/me/app</string>');
    expect(plist).toContain('<key>RunAtLoad</key><true/>');
    expect(plist).toContain('  <key>KeepAlive</key>\n  <dict>\n    <key>SuccessfulExit</key><false/>\n  </dict>');
    expect(plist).toContain('<key>StandardOutPath</key><string>/home/me/app/.coord/daemon.log</string>');
    expect(plist).toContain('<key>StandardErrorPath</key><string>/home/me/app/.coord/daemon.log</string>');
    expect(plist).toContain('<key>ExitTimeOut</key><integer>60</integer>');
  });

  it('escapes XML and refuses control characters XML cannot hold', () => {
    const plist = renderLaunchdPlist(plan({ command: ['/opt/a&b/node', '<x> "q" \'s\''], description: 'a -- b --' }));
    expect(plist).toContain('<string>/opt/a&amp;b/node</string>');
    expect(plist).toContain('<string>&lt;x&gt; "q" \'s\'</string>');
    expect(plist).not.toMatch(/<!--.*--.*-->/);
    expect(thrown(() => renderLaunchdPlist(plan({ command: ['/usr/bin/node', 'bell\u0007'] }))).code).toBe('USAGE');
  });

  it('reads back, through a real plist parser, as exactly the plan', () => {
    const weird = plan({
      command: ['/opt/node 100% $HOME/node', 'say "hi" & <bye>', 'tab\tnew\nline', ''],
      workingDirectory: '/Users/me/my & app',
      environment: { A: '<&>', B: '' },
      logFile: '/Users/me/log file.txt',
    });
    // Python's plistlib is a strict parser of Apple's format; python3 is on every machine
    // coord's tests run on. Without it this test fails (it does not skip).
    const parsed = spawnSync('python3', ['-c', 'import plistlib, sys, json; print(json.dumps(plistlib.loads(sys.stdin.buffer.read())))'], {
      input: renderLaunchdPlist(weird), encoding: 'utf8',
    });
    if (parsed.error) throw new Error(`python3 is needed to parse the plist (${parsed.error.message}): install python3`);
    expect(parsed.stderr).toBe('');
    expect(JSON.parse(parsed.stdout)).toEqual({
      Label: 'coord-app',
      ProgramArguments: weird.command,
      WorkingDirectory: weird.workingDirectory,
      EnvironmentVariables: weird.environment,
      RunAtLoad: true,
      KeepAlive: { SuccessfulExit: false },
      ExitTimeOut: 60,
      StandardOutPath: weird.logFile,
      StandardErrorPath: weird.logFile,
    });
  });
});

describe('detectServiceManager', () => {
  const probeAnswering = (code: number, stderr = '') => {
    const asked: string[][] = [];
    return { asked, probe: (argv: string[]) => (asked.push(argv), { code, stderr }) };
  };

  it('is systemd on Linux when systemctl --user reaches a user manager', () => {
    const { asked, probe } = probeAnswering(0);
    expect(detectServiceManager({ platform: 'linux', probe })).toBe('systemd');
    expect(asked).toEqual([['systemctl', '--user', 'show-environment']]);
  });

  it('is launchd on macOS when launchctl answers', () => {
    expect(detectServiceManager({ platform: 'darwin', probe: probeAnswering(0).probe })).toBe('launchd');
  });

  it('says why not, and points at --print, when neither is usable', () => {
    const linux = thrown(() => detectServiceManager({ platform: 'linux', probe: probeAnswering(1, 'Failed to connect to bus: No medium found\n').probe }));
    expect(linux.code).toBe('SERVICE_MANAGER_UNAVAILABLE');
    expect(linux.message).toContain('Failed to connect to bus: No medium found');
    expect(linux.message).toContain('coord daemon install --print');
    const windows = thrown(() => detectServiceManager({ platform: 'win32', probe: probeAnswering(0).probe }));
    expect(windows).toMatchObject({ code: 'SERVICE_MANAGER_UNAVAILABLE', message: expect.stringContaining('--print') });
  });

  it('gives an answer on this machine (a manager, or the error with the hint)', () => {
    try {
      expect(['systemd', 'launchd']).toContain(detectServiceManager());
    } catch (error) {
      expect(isCoordError(error) && error.code === 'SERVICE_MANAGER_UNAVAILABLE' && error.message.includes('--print')).toBe(true);
    }
  });
});

describe('unitPathOf', () => {
  it('is the per-user location of each manager', () => {
    expect(unitPathOf('systemd', 'coord-app', '/home/me')).toBe('/home/me/.config/systemd/user/coord-app.service');
    expect(unitPathOf('launchd', 'coord-app', '/Users/me')).toBe('/Users/me/Library/LaunchAgents/coord-app.plist');
  });
});

describe('installService and uninstallService', () => {
  let home: string;
  beforeEach(() => {
    home = mkdtempSync(path.join(os.tmpdir(), 'coord-service-home-'));
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  /** A `run` that records each argv and answers from `answer` (default: success). */
  const recorder = (manager: ServiceManager, answer: (argv: string[]) => Partial<RunResult> = () => ({})) => {
    const ran: string[][] = [];
    const deps: ServiceDeps = {
      manager, home, uid: 501,
      run: async (argv) => {
        ran.push(argv);
        return { code: 0, stdout: '', stderr: '', ...answer(argv) };
      },
    };
    return { ran, deps };
  };

  it('systemd: writes the unit (0644), reloads, enables and starts it', async () => {
    const { ran, deps } = recorder('systemd');
    const { path: file } = await installService(plan(), deps);
    expect(file).toBe(path.join(home, '.config/systemd/user/coord-app.service'));
    expect(readFileSync(file, 'utf8')).toBe(renderSystemdUnit(plan()));
    expect(statSync(file).mode & 0o777).toBe(0o644);
    expect(ran).toEqual([
      ['systemctl', '--user', 'daemon-reload'],
      ['systemctl', '--user', 'enable', '--now', 'coord-app.service'],
    ]);
  });

  it('systemd: a failing command is SERVICE_MANAGER_UNAVAILABLE with its stderr', async () => {
    const { deps } = recorder('systemd', (argv) => (argv.includes('enable') ? { code: 1, stderr: 'Failed to enable unit: Access denied\n' } : {}));
    await expect(installService(plan(), deps)).rejects.toMatchObject({
      code: 'SERVICE_MANAGER_UNAVAILABLE',
      message: expect.stringContaining('Failed to enable unit: Access denied'),
    });
  });

  it('writes nothing when the plan cannot be rendered', async () => {
    const { ran, deps } = recorder('systemd');
    await expect(installService(plan({ command: ['/opt/back\\slash/node'] }), deps)).rejects.toMatchObject({ code: 'SERVICE_MANAGER_UNAVAILABLE' });
    expect(existsSync(unitPathOf('systemd', 'coord-app', home))).toBe(false);
    expect(ran).toEqual([]);
  });

  it('systemd: uninstall disables and stops, removes the file, reloads', async () => {
    const { ran, deps } = recorder('systemd');
    const { path: file } = await installService(plan(), deps);
    ran.length = 0;
    expect(await uninstallService('coord-app', deps)).toEqual({ path: file, removed: true });
    expect(existsSync(file)).toBe(false);
    expect(ran).toEqual([
      ['systemctl', '--user', 'disable', '--now', 'coord-app.service'],
      ['systemctl', '--user', 'daemon-reload'],
    ]);
  });

  it('uninstall without an installed file runs nothing', async () => {
    const { ran, deps } = recorder('systemd');
    expect(await uninstallService('coord-app', deps)).toEqual({ path: unitPathOf('systemd', 'coord-app', home), removed: false });
    expect(ran).toEqual([]);
  });

  it('launchd: writes the plist and bootstraps it into the GUI domain; uninstall boots it out', async () => {
    const { ran, deps } = recorder('launchd');
    const { path: file } = await installService(plan(), deps);
    expect(file).toBe(path.join(home, 'Library/LaunchAgents/coord-app.plist'));
    expect(readFileSync(file, 'utf8')).toBe(renderLaunchdPlist(plan()));
    expect(statSync(file).mode & 0o777).toBe(0o644);
    expect(ran).toEqual([['launchctl', 'bootstrap', 'gui/501', file]]);
    ran.length = 0;
    expect(await uninstallService('coord-app', deps)).toEqual({ path: file, removed: true });
    expect(ran).toEqual([['launchctl', 'bootout', 'gui/501/coord-app']]);
    expect(existsSync(file)).toBe(false);
  });

  it('launchd: an agent already loaded is installed; a bootstrap that fails otherwise is an error', async () => {
    const loaded = recorder('launchd', (argv) => (argv[1] === 'bootstrap' ? { code: 5, stderr: 'Bootstrap failed: 5: Input/output error' } : {}));
    await installService(plan(), loaded.deps);
    expect(loaded.ran.map((argv) => argv[1])).toEqual(['bootstrap', 'print']);

    const broken = recorder('launchd', (argv) => (argv[1] === 'print' ? { code: 113 } : argv[1] === 'bootstrap' ? { code: 125, stderr: 'Bootstrap failed: 125: Domain does not support specified action' } : {}));
    await expect(installService(plan(), broken.deps)).rejects.toMatchObject({
      code: 'SERVICE_MANAGER_UNAVAILABLE',
      message: expect.stringContaining('Domain does not support specified action'),
    });
  });

  it('launchd: uninstalling an agent that is not loaded only removes the file', async () => {
    const { ran, deps } = recorder('launchd', (argv) => (argv[1] === 'bootout' ? { code: 3, stderr: 'Boot-out failed: 3: No such process' } : argv[1] === 'print' ? { code: 113 } : {}));
    await installService(plan(), deps);
    ran.length = 0;
    expect((await uninstallService('coord-app', deps)).removed).toBe(true);
    expect(ran.map((argv) => argv[1])).toEqual(['bootout', 'print']);
  });
});

describe('runCommand', () => {
  it('gives the exit code and both outputs, and resolves when the program is missing', async () => {
    expect(await runCommand([process.execPath, '-e', 'console.log("out"); console.error("err"); process.exit(3)'])).toEqual({ code: 3, stdout: 'out\n', stderr: 'err\n' });
    const missing = await runCommand([path.join(os.tmpdir(), 'coord-no-such-program')]);
    expect(missing.code).toBeNull();
    expect(missing.stderr).toContain('ENOENT');
  });
});

describe('the rendered unit, checked by systemd-analyze verify', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'coord-unit-verify-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /**
   * `systemd-analyze verify --user` loads the unit as the user manager would. It needs a
   * runtime directory but no running manager: a private XDG_RUNTIME_DIR (and HOME) is
   * enough. Its exit status is 0 even after warnings ("Unknown key", "Failed to parse …,
   * ignoring"), so every line it prints about the unit counts as a failure too.
   */
  function verify(unitFile: string): { status: number | null; complaints: string[]; stderr: string } {
    const runtime = path.join(dir, 'runtime');
    mkdirSync(runtime, { recursive: true, mode: 0o700 });
    const result = spawnSync('systemd-analyze', ['verify', '--user', unitFile], {
      encoding: 'utf8',
      env: { ...process.env, XDG_RUNTIME_DIR: runtime, HOME: path.join(dir, 'home'), SYSTEMD_LOG_LEVEL: 'info', SYSTEMD_PAGER: 'cat' },
    });
    if (result.error) {
      throw new Error(`systemd-analyze could not be run (${result.error.message}): install systemd (Debian: apt-get install systemd) to check coord's unit files`);
    }
    const name = path.basename(unitFile);
    const complaints = `${result.stdout}${result.stderr}`.split('\n').filter((line) => line.includes(name));
    return { status: result.status, complaints, stderr: result.stderr };
  }

  it('accepts the unit of a daemon whose paths hold spaces, %, $ and quotes, executable included', () => {
    // The executable path itself is checked by verify ("Command … is not executable"), so
    // a path that only resolves when decoded exactly proves the executable's quoting.
    const binDir = path.join(dir, 'node 100% $HOME bin');
    mkdirSync(binDir);
    const node = path.join(binDir, 'node');
    symlinkSync(process.execPath, node);
    const workDir = path.join(dir, 'my "repo" 50% $x');
    mkdirSync(workDir);
    const script = path.join(workDir, 'daemon.mjs');
    writeFileSync(script, 'setInterval(() => {}, 1000);\n');
    const unit = renderSystemdUnit(plan({
      name: 'coord-verify',
      command: [node, script, 'daemon', 'run', '--flag=a "b" \\c', '100%', '$HOME', ';'],
      workingDirectory: workDir,
      environment: { PATH: process.env['PATH'] ?? '/usr/bin', NOTE: 'a "quoted" 5% $value \\ here' },
      description: `coord daemon for ${workDir}`,
      logFile: path.join(workDir, 'daemon.log'),
    }));
    const unitFile = path.join(dir, 'coord-verify.service');
    writeFileSync(unitFile, unit);
    const { status, complaints, stderr } = verify(unitFile);
    expect(complaints, stderr).toEqual([]);
    expect(status, stderr).toBe(0);
  });

  it('catches a broken unit (the check can fail)', () => {
    const unitFile = path.join(dir, 'coord-broken.service');
    const good = renderSystemdUnit(plan({ name: 'coord-broken', command: [process.execPath, '-e', '0'], workingDirectory: dir }));
    writeFileSync(unitFile, good.replace('KillMode=mixed', 'KillMode=sideways\nRestartEvery=2'));
    expect(verify(unitFile).complaints.length).toBe(2);

    // the executable written with $$ would not be the file that exists
    writeFileSync(unitFile, good.replace(`ExecStart="${process.execPath}"`, `ExecStart="${path.dirname(process.execPath)}/$$${path.basename(process.execPath)}"`));
    const missing = verify(unitFile);
    expect(missing.status).not.toBe(0);
    expect(missing.complaints.join('\n')).toContain('is not executable');
  });
});
