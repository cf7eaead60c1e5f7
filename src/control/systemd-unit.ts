/**
 * The daemon as a systemd user unit. Every value is written so that systemd reads back
 * exactly the string coord meant (systemd.syntax(7), systemd.service(7)), checked against
 * `systemd-analyze verify` in the tests:
 *
 * - ExecStart= words are double-quoted with C escapes (`\\`, `\"`, `\n`…); `%` is a
 *   specifier, written `%%`; `$` starts a variable substitution in the arguments, written
 *   `$$`. The executable itself is not substituted (`$$` would stay `$$`), so there `$` is
 *   written as it is; and systemd refuses outright an executable whose path holds a quote,
 *   a backslash or a control character ("Executable name contains special characters").
 * - Environment= assignments are quoted with C escapes and `%%`; no `$` substitution.
 * - WorkingDirectory=, StandardOutput=append: and Description= take the rest of the line,
 *   unquoted and unescaped but for `%%`: a control character there cannot be written, and
 *   trailing blanks would be trimmed, so both are refused.
 */
import { CoordError } from '../errors.js';
import { checkPlan, DEFAULT_STOP_TIMEOUT_SEC, type ServicePlan } from './service-plan.js';

const CONTROL = /[\u0000-\u001f\u007f]/;

/** systemd's C escapes for a character inside a double-quoted word. */
function cEscape(char: string): string {
  switch (char) {
    case '\\': return '\\\\';
    case '"': return '\\"';
    case '\n': return '\\n';
    case '\t': return '\\t';
    case '\r': return '\\r';
    default: {
      const code = char.charCodeAt(0);
      return code < 0x20 || code === 0x7f ? `\\x${code.toString(16).padStart(2, '0')}` : char;
    }
  }
}

/** A double-quoted word: C escapes, `%%`, and `$$` when `substituted`. */
function quoteWord(value: string, substituted: boolean): string {
  let out = '"';
  for (const char of value) {
    if (char === '%') out += '%%';
    else if (char === '$' && substituted) out += '$$';
    else out += cEscape(char);
  }
  return `${out}"`;
}

/** An unquoted rest-of-line value (a path): only `%` needs escaping; what cannot be written is refused. */
function lineValue(setting: string, value: string): string {
  if (CONTROL.test(value) || /\s$/.test(value)) {
    throw new CoordError('USAGE', `a systemd unit cannot hold this ${setting}= value (a control character or trailing blank): ${JSON.stringify(value)}`, {
      details: { setting, value },
    });
  }
  return value.replaceAll('%', '%%');
}

/** ExecStart=: the executable as systemd requires it, then each argument quoted. */
export function systemdExecStart(command: readonly string[]): string {
  const [executable = '', ...args] = command;
  if (/["'\\\u0000-\u001f\u007f]/.test(executable)) {
    throw new CoordError(
      'SERVICE_MANAGER_UNAVAILABLE',
      `systemd will not start an executable whose path contains a quote, a backslash or a control character: ${JSON.stringify(executable)}. ` +
        'Run node from another path, or write the unit with `coord daemon install --print` and adapt it.',
      { details: { executable } },
    );
  }
  return [quoteWord(executable, false), ...args.map((arg) => quoteWord(arg, true))].join(' ');
}

/**
 * The unit file text for `plan`.
 *
 * @example
 * ```ts
 * renderSystemdUnit({ name: 'coord-app', command: ['/usr/bin/node', '/opt/coord/supervisor.js', 'daemon', 'run'],
 *   workingDirectory: '/home/me/app', environment: {}, description: 'coord daemon for /home/me/app' });
 * ```
 */
export function renderSystemdUnit(plan: ServicePlan): string {
  checkPlan(plan);
  const description = plan.description.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim().replaceAll('%', '%%');
  const lines = [
    '# Written by `coord daemon install`; `coord daemon uninstall` removes it.',
    '[Unit]',
    `Description=${description}`,
    'After=network.target',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${systemdExecStart(plan.command)}`,
    `WorkingDirectory=${lineValue('WorkingDirectory', plan.workingDirectory)}`,
    ...Object.entries(plan.environment).map(([name, value]) => `Environment=${quoteWord(`${name}=${value}`, false)}`),
    ...(plan.logFile === undefined ? [] : [`StandardOutput=append:${lineValue('StandardOutput', plan.logFile)}`, `StandardError=append:${lineValue('StandardError', plan.logFile)}`]),
    'Restart=on-failure',
    'RestartSec=2',
    // SIGTERM to the daemon alone, so it drains its workers itself; whatever is left when
    // TimeoutStopSec runs out gets SIGKILL, the whole control group.
    'KillMode=mixed',
    'KillSignal=SIGTERM',
    `TimeoutStopSec=${plan.stopTimeoutSec ?? DEFAULT_STOP_TIMEOUT_SEC}`,
    '',
    '[Install]',
    'WantedBy=default.target',
  ];
  return `${lines.join('\n')}\n`;
}
