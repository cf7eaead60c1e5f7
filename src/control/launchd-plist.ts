/**
 * The daemon as a launchd user agent (launchd.plist(5)): started at login (`RunAtLoad`),
 * started again when it exits unsuccessfully (`KeepAlive.SuccessfulExit = false`, the
 * counterpart of systemd's `Restart=on-failure`), given `ExitTimeOut` seconds to drain after
 * SIGTERM. Strings are XML-escaped; XML 1.0 cannot hold most control characters at all, so
 * those are refused rather than written into a plist launchd would reject.
 */
import { CoordError } from '../errors.js';
import { checkPlan, DEFAULT_STOP_TIMEOUT_SEC, type ServicePlan } from './service-plan.js';

/** The agent's `Label`: the service name itself, so `launchctl print gui/<uid>/coord-app` finds it. */
export function launchdLabelOf(name: string): string {
  return name;
}

function xmlString(value: string): string {
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/.test(value)) {
    throw new CoordError('USAGE', `a launchd plist cannot hold this string (a control character): ${JSON.stringify(value)}`, { details: { value } });
  }
  const escaped = value.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
  return `<string>${escaped}</string>`;
}

const key = (name: string): string => `<key>${name}</key>`;

/**
 * The plist text for `plan`.
 *
 * @example
 * ```ts
 * renderLaunchdPlist({ name: 'coord-app', command: ['/usr/local/bin/node', '/opt/coord/supervisor.js', 'daemon', 'run'],
 *   workingDirectory: '/Users/me/app', environment: {}, description: 'coord daemon for /Users/me/app' });
 * ```
 */
export function renderLaunchdPlist(plan: ServicePlan): string {
  checkPlan(plan);
  const environment = Object.entries(plan.environment);
  const body = [
    // launchd has no description field; a comment keeps it for whoever reads the file.
    `  <!-- ${plan.description.replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/-(?=-)/g, '- ')} -->`,
    `  ${key('Label')}${xmlString(launchdLabelOf(plan.name))}`,
    `  ${key('ProgramArguments')}`,
    '  <array>',
    ...plan.command.map((arg) => `    ${xmlString(arg)}`),
    '  </array>',
    `  ${key('WorkingDirectory')}${xmlString(plan.workingDirectory)}`,
    ...(environment.length === 0
      ? []
      : [`  ${key('EnvironmentVariables')}`, '  <dict>', ...environment.map(([name, value]) => `    ${key(name)}${xmlString(value)}`), '  </dict>']),
    `  ${key('RunAtLoad')}<true/>`,
    `  ${key('KeepAlive')}`,
    '  <dict>',
    `    ${key('SuccessfulExit')}<false/>`,
    '  </dict>',
    `  ${key('ExitTimeOut')}<integer>${plan.stopTimeoutSec ?? DEFAULT_STOP_TIMEOUT_SEC}</integer>`,
    ...(plan.logFile === undefined ? [] : [`  ${key('StandardOutPath')}${xmlString(plan.logFile)}`, `  ${key('StandardErrorPath')}${xmlString(plan.logFile)}`]),
  ];
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<plist version="1.0">',
    '<dict>',
    ...body,
    '</dict>',
    '</plist>',
    '',
  ].join('\n');
}
