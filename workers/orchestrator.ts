/**
 * The worker orchestrator process: the entry the supervisor forks (`dist/workers/
 * orchestrator.js`, or `workers/orchestrator.ts` under tsx), with cwd = the worker's
 * worktree. It wires the process to a {@link WorkerSession}: IPC messages in, protocol
 * messages out, and the rule that a worker never outlives its supervisor.
 */
import { runGitThroughShell } from '../src/git/run-git.js';
import { createProcessChannel } from './ipc.js';
import { createLogger, errorFields } from './log.js';
import { ProcessGroups } from './process-group.js';
import { WorkerSession } from './worker-session.js';

const logger = createLogger({ component: 'worker' });
// Git runs around every task: through one small shell, not a fork of this process each time.
runGitThroughShell();
const groups = new ProcessGroups();
const session = new WorkerSession({
  channel: createProcessChannel(logger),
  logger,
  groups,
  exit: (code) => process.exit(code),
});

if (process.send === undefined) {
  logger.log('error', 'the worker orchestrator must be started with child_process.fork (no IPC channel)');
  process.exit(2);
}

process.on('message', (raw: unknown) => session.receive(raw));

// The IPC channel closes when the supervisor exits for any reason, kill -9 included, so
// this is the one signal that always arrives. Task process groups are killed first, since
// they run in their own sessions and would otherwise keep running without anyone to report to.
process.on('disconnect', () => session.abandon('parent disconnected', 1));
process.on('SIGTERM', () => session.abandon('SIGTERM', 143));
process.on('SIGHUP', () => session.abandon('SIGHUP', 129));
// Ctrl-C in the supervisor's terminal reaches the whole foreground process group, workers
// included. The supervisor drains on SIGINT and tells its workers what to do, so a worker
// must not die on its own (that would defeat the drain).
process.on('SIGINT', () => logger.log('info', 'SIGINT ignored; the supervisor decides'));

// An exception nobody caught means this process's state can no longer be trusted: kill the
// tasks and exit so the supervisor restarts the worker, rather than limp on.
process.on('uncaughtException', (error) => {
  logger.log('error', 'uncaught exception', errorFields(error));
  session.abandon('uncaught exception', 70);
});
process.on('unhandledRejection', (reason) => {
  logger.log('error', 'unhandled rejection', errorFields(reason));
  session.abandon('unhandled rejection', 70);
});
