/**
 * The `coord` command: parse flags, build the configuration (flags over `COORD_*` over the
 * config file) and load the task file (both before anything is forked, so a bad one runs
 * nothing), start the supervisor, submit, and wait. SIGINT/SIGTERM drain then stop; a second
 * SIGINT stops at once (children are still killed).
 */
import { drainOnSignals } from '../supervisor/signals.js';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadRunConfig, type RunConfig } from '../config/run-options.js';
import { isCoordError, policyOf, toCoordError, type CoordErrorCode } from '../errors.js';
import { startFresh } from './fresh.js';
import { describeCounts } from './store-commands.js';
import { packageVersion } from '../package-root.js';
import { createSupervisor, type Supervisor, type SupervisorStatus } from '../supervisor/supervisor.js';
import type { RunSummary } from '../supervisor/summary.js';
import { plural } from '../plural.js';
import { loadTaskFile } from '../tasks/load.js';
import type { TaskSpecInput } from '../tasks/spec.js';
import { parseCliArgs, USAGE } from './args.js';
import { runSubcommand, SUBCOMMANDS, SUBCOMMANDS_USAGE } from './subcommands.js';
import { createDemoRepo, demoTasks } from './demo.js';
import { reportProgress } from './progress.js';
import { renderSummary } from './render-summary.js';

/** Exit code for an error: its policy's (2 for bad usage, configuration, input or environment; 1 otherwise). */
export function exitCodeFor(error: unknown): 1 | 2 | 3 {
  return isCoordError(error) ? policyOf(error.code).exit : 1;
}

/** Where the results are, said once at the end: the branches (and how to look at one), the summary file. */
export function describeResults(summary: RunSummary, summaryFile: string | undefined, removed: boolean): string {
  const withCommits = summary.tasks.filter((task) => task.commit !== null);
  const lines: string[] = [];
  if (removed) lines.push(`the scratch repository ${summary.repo ?? ''} is removed (--keep keeps it)`);
  else if (withCommits.length > 0 && summary.repo !== null) {
    const first = withCommits[0]?.branch ?? '';
    lines.push(`branches: ${plural(withCommits.length, 'task')} on coord/<id> in ${summary.repo} (e.g. git -C ${summary.repo} log ${first})`);
  }
  if (summaryFile) lines.push(`summary: ${path.resolve(summaryFile)}`);
  return lines.join('\n');
}

/** What to do next, after the message of some errors. */
const HINTS: Partial<Record<CoordErrorCode, string>> = {
  USAGE: '\n(see coord --help)',
  TASK_EXISTS: '\nthe stored task is kept as it was: redrive it if it is dead (coord redrive ID), give the changed task a new id, or start over with --fresh',
};

/**
 * A task file whose every task the store already holds: says what became of them. When all
 * are finished, nothing runs and the exit code is the graph's (0 all complete, 1 otherwise);
 * when some are not, the run resumes them. Resolves with the exit code, or null to run.
 */
async function sayAlreadyStored(supervisor: Supervisor, tasks: readonly TaskSpecInput[]): Promise<number | null> {
  const ids = new Set(tasks.map((task) => task.id));
  const stored = (await supervisor.summary()).tasks.filter((task) => ids.has(task.id));
  const counts: Partial<Record<string, number>> = {};
  for (const task of stored) counts[task.status] = (counts[task.status] ?? 0) + 1;
  const left = stored.filter((task) => !['complete', 'dead', 'blocked', 'cancelled'].includes(task.status)).length;
  const what = describeCounts(counts).replace(/^\d+ tasks?/, (n) => `these ${n}`);
  if (left > 0) {
    process.stderr.write(`the store already holds ${what}: resuming the ${plural(left, 'one', 'ones')} not finished\n`);
    return null;
  }
  const dead = counts['dead'] ?? 0;
  process.stderr.write(`the store already holds ${what}; nothing to run — ${dead > 0 ? 'coord redrive --dead to retry the dead ones, ' : ''}--fresh to start over\n`);
  return stored.every((task) => task.status === 'complete') ? 0 : 1;
}

/** Runs the CLI with `argv` (without node and the script) and resolves with the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let supervisor: Supervisor | undefined;
  /** What to remove when the command ends (the demo's scratch repository). */
  const cleanups: Array<() => Promise<void>> = [];
  /** The exit code when the store already held the whole graph, finished: nothing was run. */
  let alreadyRun: number | null = null;
  try {
    const [first, ...rest] = argv;
    if (first !== undefined && Object.hasOwn(SUBCOMMANDS, first)) return await runSubcommand(first, rest);
    const args = parseCliArgs(argv);
    if (args.help) {
      process.stdout.write(`${USAGE}\n\n${SUBCOMMANDS_USAGE}\n`);
      return 0;
    }
    if (args.version) {
      process.stdout.write(`${packageVersion()}\n`);
      return 0;
    }
    const demo = args.demo ? await createDemoRepo() : undefined;
    if (demo && !args.keep) cleanups.push(() => rm(demo.dir, { recursive: true, force: true }));
    // The demo's coord.yaml is looked for in its scratch repository, not in the repository
    // coord was started in (that one is for real runs); --config still applies.
    const config = await loadRunConfig(demo ? { ...args, repo: demo.repo } : args, { env: process.env, cwd: process.cwd() });
    const tasks: TaskSpecInput[] = demo ? demoTasks() : args.tasks ? await loadTaskFile(args.tasks) : [];
    for (const warning of configWarnings(config)) process.stderr.write(`coord: ${warning}\n`);
    const { repo } = config.options;
    const once = args.once || args.demo;
    if (demo) process.stderr.write(`coord demo: scratch repository ${repo} (${args.keep ? 'kept after the run' : 'removed after the run; --keep keeps it'})\n`);

    supervisor = createSupervisor({ ...config.options, logStderrLevel: 'warn' });
    if (args.fresh) await startFresh(config.options, repo, tasks);
    const running = supervisor;
    const stopProgress = reportProgress({ events: running.events, counts: () => running.status().counts, state: () => running.status().state });
    const removeSignals = onSignals(running);
    try {
      await running.start();
      process.stderr.write(`${describePaths(running.status().paths)}\n`);
      const added = await running.submit(tasks);
      if (tasks.length > 0 && added.length === 0) alreadyRun = await sayAlreadyStored(running, tasks);
      if (once || alreadyRun !== null) {
        await running.settled();
        await running.drain();
      } else {
        await new Promise<void>((resolve) => running.events.on('coord:state', ({ state }) => (state === 'stopped' || state === 'failed') && resolve()));
      }
    } finally {
      removeSignals();
      stopProgress();
    }
    if (alreadyRun !== null) {
      if (args.summary) await writeFile(args.summary, `${JSON.stringify(await running.summary(), null, 2)}\n`);
      return alreadyRun;
    }
    return await finish(running, args.summary, demo !== undefined && !args.keep);
  } catch (error) {
    const err = toCoordError(error);
    process.stderr.write(`coord: ${err.code}: ${err.message}${HINTS[err.code] ?? ''}\n`);
    if (supervisor && supervisor.status().state !== 'stopped' && supervisor.status().state !== 'failed') await supervisor.stop();
    return exitCodeFor(err);
  } finally {
    for (const cleanup of cleanups.splice(0)) await cleanup().catch(() => undefined);
  }
}

/** What to say once before the run: the configuration's warnings, and what this command does not do with it. */
function configWarnings(config: RunConfig): string[] {
  const http = config.http === null ? [] : [`http ${config.http}: the HTTP API is served by coord daemon start, not by a one-shot run`];
  return [...config.warnings, ...http];
}

/** Where the run keeps things, said once at the start. */
export function describePaths(paths: SupervisorStatus['paths']): string {
  if (paths === null) return '';
  return [
    `coord: state ${paths.stateDir}`,
    `       store ${paths.store}`,
    `       worktrees ${paths.worktreeRoot}`,
    ...(paths.logFile === null ? [] : [`       log ${paths.logFile}`]),
  ].join('\n');
}

async function finish(supervisor: Supervisor, summaryFile: string | undefined, scratchRemoved: boolean): Promise<number> {
  const summary = await supervisor.summary();
  if (summaryFile) await writeFile(summaryFile, `${JSON.stringify(summary, null, 2)}\n`);
  process.stderr.write(`\n${renderSummary(summary)}\n`);
  process.stderr.write(`${describeResults(summary, summaryFile, scratchRemoved)}\n`);
  // A run ended by its environment (a corrupt store, a full disk) exits like a refusal at
  // start (2); the rendered summary already ends with the coordinator's error and advice.
  const error = summary.coordinator.error;
  if (summary.coordinator.state === 'failed' && error) return policyOf(error.code).exit;
  const allComplete = summary.tasks.every((task) => task.status === 'complete');
  return summary.coordinator.state === 'stopped' && allComplete ? 0 : 1;
}

/** First SIGINT/SIGTERM drains; a second SIGINT stops at once. */
function onSignals(supervisor: Supervisor): () => void {
  return drainOnSignals(supervisor, {
    draining: (signal) => process.stderr.write(`\ncoord: ${signal}: draining (running tasks may finish; Ctrl-C again to stop now)\n`),
    stopping: () => process.stderr.write('\ncoord: stopping now\n'),
  });
}
