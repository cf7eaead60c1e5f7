/**
 * What `coord daemon install` asks a service manager to run: one description that both the
 * systemd unit and the launchd agent are rendered from, so the two cannot drift apart.
 */
import { CoordError } from '../errors.js';

/** The daemon as a service: its exact command line, where it runs, with what environment. */
export interface ServicePlan {
  /** The service's name, e.g. `coord-my-app` (see `serviceNameFor`). */
  name: string;
  /** argv, absolute node path first, exactly as the daemon is started by hand. */
  command: string[];
  /** Absolute; the repository the daemon serves. */
  workingDirectory: string;
  environment: Record<string, string>;
  /** One line for `systemctl status` and the like. */
  description: string;
  /** Absolute; where the daemon's stdout and stderr go. Default: the journal (systemd), nowhere (launchd). */
  logFile?: string;
  /**
   * Seconds the service manager waits after SIGTERM before SIGKILL. Must exceed the
   * daemon's drain deadline, or a stop kills tasks the drain would have let finish.
   * Default {@link DEFAULT_STOP_TIMEOUT_SEC}.
   */
  stopTimeoutSec?: number;
}

/** Twice the default drain deadline (30 s). */
export const DEFAULT_STOP_TIMEOUT_SEC = 60;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Refuses a plan no service manager could run as meant: an empty or relative command, a
 * relative directory, an environment name a shell could not export. Both renderers call it.
 */
export function checkPlan(plan: ServicePlan): void {
  const refuse = (message: string, details: Record<string, unknown>): never => {
    throw new CoordError('USAGE', `cannot describe the coord daemon as a service: ${message}`, { details });
  };
  const [executable] = plan.command;
  if (executable === undefined || !executable.startsWith('/')) refuse('the command must start with an absolute path', { command: plan.command });
  if (!plan.workingDirectory.startsWith('/')) refuse('the working directory must be absolute', { workingDirectory: plan.workingDirectory });
  if (plan.logFile !== undefined && !plan.logFile.startsWith('/')) refuse('the log file must be absolute', { logFile: plan.logFile });
  for (const name of Object.keys(plan.environment)) {
    if (!ENV_NAME.test(name)) refuse(`"${name}" is not an environment variable name`, { name });
  }
  const timeout = plan.stopTimeoutSec ?? DEFAULT_STOP_TIMEOUT_SEC;
  if (!Number.isInteger(timeout) || timeout < 1) refuse('the stop timeout must be a whole number of seconds', { stopTimeoutSec: timeout });
}
