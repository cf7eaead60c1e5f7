/**
 * The `coord` command: parse flags, load the task file (before anything is forked, so a bad
 * file runs nothing), start the supervisor, submit, and wait. SIGINT/SIGTERM drain then
 * stop; a second SIGINT stops at once (children are still killed).
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isCoordError, policyOf, toCoordError } from '../errors.js';
import { packageVersion } from '../package-root.js';
import { createSupervisor, type Supervisor } from '../supervisor/supervisor.js';
import { loadTaskFile } from '../tasks/load.js';
import type { TaskSpecInput } from '../tasks/spec.js';
import { parseCliArgs, USAGE } from './args.js';
import { createDemoRepo, demoTasks } from './demo.js';
import { reportProgress } from './progress.js';
import { renderSummary } from './render-summary.js';

/** Exit code for an error: its policy's (2 for bad usage, configuration, input or environment; 1 otherwise). */
export function exitCodeFor(error: unknown): 1 | 2 {
  return isCoordError(error) ? policyOf(error.code).exit : 1;
}

/** Runs the CLI with `argv` (without node and the script) and resolves with the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let supervisor: Supervisor | undefined;
  try {
    const args = parseCliArgs(argv);
    if (args.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    if (args.version) {
      process.stdout.write(`${packageVersion()}\n`);
      return 0;
    }
    const repo = args.demo ? await createDemoRepo() : path.resolve(args.repo ?? process.cwd());
    const tasks: TaskSpecInput[] = args.demo ? demoTasks() : args.tasks ? await loadTaskFile(args.tasks) : [];
    const once = args.once || args.demo;
    if (args.demo) process.stderr.write(`coord demo: scratch repository ${repo}\n`);

    supervisor = createSupervisor({
      repo,
      workers: args.workers,
      stateDir: args.stateDir,
      worktreeRoot: args.worktreeRoot,
      logLevel: args.logLevel,
      logStderrLevel: 'warn',
      allowDirty: args.allowDirty,
      ...(args.store === undefined ? {} : { store: args.store }),
      ...(args.nodeId === undefined ? {} : { nodeId: args.nodeId }),
      ...(args.leaseMs === undefined ? {} : { leaseMs: args.leaseMs }),
      ...(args.maxLogBytes === undefined ? {} : { maxLogBytes: args.maxLogBytes }),
      ...(args.remote === undefined ? {} : { remote: args.remote }),
      ...(args.heartbeatMs === undefined ? {} : { heartbeatMs: args.heartbeatMs }),
      ...(args.drainDeadlineMs === undefined ? {} : { drainDeadlineMs: args.drainDeadlineMs }),
    });
    const running = supervisor;
    const stopProgress = reportProgress({ events: running.events, counts: () => running.status().counts, state: () => running.status().state });
    const removeSignals = onSignals(running);
    try {
      await running.start();
      await running.submit(tasks);
      if (once) {
        await running.settled();
        await running.drain();
      } else {
        await new Promise<void>((resolve) => running.events.on('coord:state', ({ state }) => (state === 'stopped' || state === 'failed') && resolve()));
      }
    } finally {
      removeSignals();
      stopProgress();
    }
    return await finish(running, args.summary);
  } catch (error) {
    const err = toCoordError(error);
    process.stderr.write(`coord: ${err.code}: ${err.message}${err.code === 'USAGE' ? '\n(see coord --help)' : ''}\n`);
    if (supervisor && supervisor.status().state !== 'stopped' && supervisor.status().state !== 'failed') await supervisor.stop();
    return exitCodeFor(err);
  }
}

async function finish(supervisor: Supervisor, summaryFile: string | undefined): Promise<number> {
  const summary = await supervisor.summary();
  if (summaryFile) await writeFile(summaryFile, `${JSON.stringify(summary, null, 2)}\n`);
  process.stderr.write(`\n${renderSummary(summary)}\n`);
  // A run ended by its environment (a corrupt store, a full disk) exits like a refusal at
  // start (2); the rendered summary already ends with the coordinator's error and advice.
  const error = summary.coordinator.error;
  if (summary.coordinator.state === 'failed' && error) return policyOf(error.code).exit;
  const allComplete = summary.tasks.every((task) => task.status === 'complete');
  return summary.coordinator.state === 'stopped' && allComplete ? 0 : 1;
}

/** First SIGINT/SIGTERM drains; a second SIGINT stops at once. */
function onSignals(supervisor: Supervisor): () => void {
  let draining = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (!draining) {
      draining = true;
      process.stderr.write(`\ncoord: ${signal}: draining (running tasks may finish; Ctrl-C again to stop now)\n`);
      void supervisor.drain();
      return;
    }
    if (signal === 'SIGINT') {
      process.stderr.write('\ncoord: stopping now\n');
      void supervisor.stop();
    }
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
