/**
 * 10. Sweeping a task's leftovers: what one `/proc` marker sweep costs (the worker runs one
 * after every attempt, the supervisor one per lost task and one at stop), against the bare
 * `/proc` listing it starts from, with the machine's own processes plus 0, 200 and 1000
 * extra processes of our uid; then killing 100 marked processes, by marker and by cgroup.
 *
 * Run: npm run bench -- proc-sweep
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { MARKER_VAR, newRunId } from '../src/procs/attempt-marker.js';
import { createAttemptCgroup, attemptCgroupDir, probeCgroups } from '../src/procs/cgroup.js';
import { findMarked, linuxProc } from '../src/procs/find-marked.js';
import { reap } from '../src/procs/reap.js';
import { sweepMarked } from '../src/procs/sweep-marked.js';
import { Report } from './lib/report.js';
import { fmt, range, ratio, summarize } from './lib/stats.js';

const REPS = 25;
const report = new Report('proc-sweep', '10. Sweeping a task\'s leftovers');
const children: ChildProcess[] = [];
const runId = newRunId();

function time(fn: () => void): number[] {
  const samples: number[] = [];
  for (let i = 0; i < REPS; i += 1) {
    const started = performance.now();
    fn();
    samples.push(performance.now() - started);
  }
  return samples;
}

async function spawnSleepers(count: number, env: Record<string, string> = {}, wrap?: (argv: string[]) => string[]): Promise<ChildProcess[]> {
  const started: ChildProcess[] = [];
  for (let i = 0; i < count; i += 1) {
    const argv = wrap ? wrap(['sleep', '600']) : ['sleep', '600'];
    const child = spawn(argv[0] as string, argv.slice(1), { env: { ...process.env, ...env }, stdio: 'ignore' });
    started.push(child);
    children.push(child);
  }
  await Promise.all(started.map((child) => new Promise((resolve) => child.once('spawn', resolve))));
  await sleep(200); // let each exec finish, so /proc shows sleep's environ, not a half-started process
  return started;
}

const rows: string[][] = [];
try {
  for (const extra of [0, 200, 1000]) {
    await spawnSleepers(extra - (children.length));
    const listed = linuxProc.pids().length;
    const listing = summarize(time(() => readdirSync('/proc')));
    const sweep = summarize(time(() => sweepMarked({ prefix: `${runId}.nobody.` })));
    const find = summarize(time(() => findMarked({ prefix: `${runId}.nobody.` })));
    rows.push([`+${extra} (${listed} listed)`, fmt(listing.median), fmt(find.median), range(find), fmt(sweep.median), range(sweep), ratio(sweep.median, listing.median),
      fmt((sweep.median * 1000) / listed, 1)]);
  }
  report.text(
    'A sweep lists `/proc`, `stat`s each pid for its owner, reads `/proc/<pid>/environ` of every process of our uid and looks '
    + `for \`${MARKER_VAR}\`; here it finds nothing (the usual case: the group kill already got everything). `
    + `Median of ${REPS} sweeps each, with the machine's own processes plus extra idle \`sleep\`s of our uid; the baseline is the bare `
    + '`readdirSync(\'/proc\')`. The sweep is synchronous: this is how long it blocks the worker\'s (or supervisor\'s) event loop.',
  );
  report.table(null, ['processes', 'listing ms', 'find ms', 'find min–max', 'sweep ms', 'sweep min–max', 'sweep ÷ listing', 'µs per process'], rows);

  // Killing: 100 marked processes, by marker; and 100 processes in one attempt cgroup.
  const killRows: string[][] = [];
  const marker = `${runId}.w1.kill.1.lease`;
  const marked = await spawnSleepers(100, { [MARKER_VAR]: marker });
  let started = performance.now();
  const swept = sweepMarked({ exact: marker });
  const sweepKillMs = performance.now() - started;
  await Promise.all(marked.map((child) => (child.exitCode === null && child.signalCode === null ? new Promise((resolve) => child.once('exit', resolve)) : null)));
  const allGoneMs = performance.now() - started;
  killRows.push(['marker sweep', String(swept.killed.length), String(swept.passes), fmt(sweepKillMs), fmt(allGoneMs)]);
  const probe = probeCgroups();
  if (probe.ok) {
    const cgMarker = `${runId}.w1.cg.1.lease`;
    const dir = attemptCgroupDir(probe.base, cgMarker);
    createAttemptCgroup(dir);
    const inCgroup = await spawnSleepers(100, {}, (argv) => ['/bin/sh', '-c', '{ echo $$ > "$0"; } 2>/dev/null; exec "$@"', `${dir}/cgroup.procs`, ...argv]);
    started = performance.now();
    const reaped = await reap({ exact: cgMarker }, { cgroupBase: probe.base });
    const reapMs = performance.now() - started;
    await Promise.all(inCgroup.map((child) => (child.exitCode === null && child.signalCode === null ? new Promise((resolve) => child.once('exit', resolve)) : null)));
    killRows.push(['cgroup.kill + marker sweep + rmdir', String(reaped.cgroupPids.length), String(reaped.sweep.passes), fmt(reapMs), fmt(performance.now() - started)]);
  }
  report.table('Killing 100 idle `sleep` processes of one attempt (one run):', ['how', 'killed', 'scan passes', 'call returned ms', 'all reaped ms'], killRows);
  report.text(
    `Cgroups here: ${probe.ok ? `yes, under \`${probe.base}\`` : `no (${probe.reason})`}. The marker sweep stops what it finds (SIGSTOP), scans again until a `
    + 'pass finds nobody new (a stopped process cannot fork), then sends SIGKILL: two passes when nothing forks meanwhile. '
    + '"call returned" is how long the sweep or reap call took; "all reaped" until Node saw every child exit.',
  );
} finally {
  for (const child of children) child.kill('SIGKILL');
}
report.write();
