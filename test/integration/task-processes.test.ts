/**
 * Every process of a task ends with it: a task that double-forks a `setsid` daemon (its own
 * session and process group, so the group kill cannot reach it) leaves nothing behind —
 * not when the task completes, not when the supervisor stops with the task still running,
 * not when the worker running it is killed with SIGKILL. Real workers, real PTYs, a real
 * repository; each daemon writes its pid to a file the test reads. Every case runs twice:
 * with attempt cgroups (where this machine allows them) and with the attempt marker alone
 * (`COORD_TASK_CGROUPS=off`, what a machine without writable cgroups gets).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSupervisor, type Supervisor } from '../../src/index.js';
import { CGROUPS_VAR, probeCgroups } from '../../src/procs/cgroup.js';
import { cgroup2Mount } from '../../src/procs/cgroup-parse.js';
import { isAlive, makeRepo, type TempRepo } from '../helpers/git-repo.js';

let repo: TempRepo;
let supervisor: Supervisor | undefined;
const daemons: number[] = [];
afterEach(async () => {
  if (supervisor && !['stopped', 'failed'].includes(supervisor.status().state)) await supervisor.stop();
  supervisor = undefined;
  delete process.env[CGROUPS_VAR];
  // A failing run must not leave its daemons behind for the next test.
  for (const pid of daemons.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone, as it should be
    }
  }
  repo?.cleanup();
});

/** A shell line that starts a detached daemon (new session, stdio closed) writing its pid to `pidFile`. */
function daemonScript(pidFile: string): string {
  return `setsid sh -c 'echo $$ > "${pidFile}.tmp" && mv "${pidFile}.tmp" "${pidFile}" && exec sleep 300' </dev/null >/dev/null 2>&1 &`;
}

/** Waits for the daemon's pid file, then for the daemon itself to be up. */
async function daemonPid(pidFile: string): Promise<number> {
  await expect.poll(() => existsSync(pidFile), { timeout: 20_000, interval: 50 }).toBe(true);
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  daemons.push(pid);
  return pid;
}

/** The cgroup v2 path of `pid` (the `0::` line of /proc/<pid>/cgroup). */
function cgroupOf(pid: number): string {
  return readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((line) => line.startsWith('0::'))?.slice(3) ?? '';
}

const cgroupsHere = probeCgroups().ok;
const CGROUP2_MOUNT = cgroup2Mount(readFileSync('/proc/self/mountinfo', 'utf8'))?.mountPoint ?? '/nonexistent';

function create(): Supervisor {
  supervisor = createSupervisor({
    repo: repo.repo,
    workers: 1,
    stateDir: repo.stateDir,
    worktreeRoot: repo.worktreeRoot,
    heartbeatMs: 200,
    killGraceMs: 300,
  });
  return supervisor;
}

describe.each([
  { mode: 'cgroup and marker', cgroups: true },
  { mode: 'marker only', cgroups: false },
])('every process of a task ends with it ($mode)', ({ cgroups }) => {
  const setMode = (): void => {
    if (!cgroups) process.env[CGROUPS_VAR] = 'off';
  };

  it('kills a setsid daemon the task left behind once the task completes', async () => {
    repo = makeRepo();
    setMode();
    const pidFile = path.join(repo.stateDir, 'daemon-a.pid');
    const s = create();
    await s.start();
    await s.submit([{ id: 'daemon', run: ['sh', '-c', `${daemonScript(pidFile)} echo started; while [ ! -s "${pidFile}" ]; do sleep 0.05; done`] }]);
    await s.settled();
    const pid = await daemonPid(pidFile);
    const task = (await s.summary()).tasks[0];
    expect(task?.status).toBe('complete');
    await expect.poll(() => isAlive(pid), { timeout: 10_000, interval: 50 }).toBe(false);
    // The attempt itself did it (not the stop that follows), and says so in the task's log.
    const logFile = path.join(repo.stateDir, 'logs', 'tasks', 'daemon');
    expect(readdirSync(logFile).map((name) => readFileSync(path.join(logFile, name), 'utf8')).join(''))
      .toMatch(new RegExp(`killed \\d+ leftover process\\(es\\) of the task outside its process group: .*\\b${pid}\\b`));
  });

  it('kills the daemon of a task still running when the supervisor stops', async () => {
    repo = makeRepo();
    setMode();
    const pidFile = path.join(repo.stateDir, 'daemon-b.pid');
    const s = create();
    await s.start();
    await s.submit([{ id: 'runs-on', run: ['sh', '-c', `${daemonScript(pidFile)} sleep 300`] }]);
    const pid = await daemonPid(pidFile);
    expect(isAlive(pid)).toBe(true);
    // The daemon left the group and the session, but not the attempt's cgroup.
    const cgroup = cgroupOf(pid);
    if (cgroups && cgroupsHere) expect(cgroup).toMatch(/\/coord-[0-9a-f]{16}\.w1\.runs-on\.1\.[A-Za-z0-9_-]+$/);
    else expect(cgroup).not.toMatch(/coord-/);
    await s.stop();
    // stop() has returned: nothing is left to do the killing later.
    expect(isAlive(pid)).toBe(false);
    if (cgroups && cgroupsHere) expect(existsSync(path.join(CGROUP2_MOUNT, cgroup))).toBe(false); // removed, not just emptied
  });

  it('kills the daemon of a task whose worker was killed with SIGKILL', async () => {
    repo = makeRepo();
    setMode();
    const pidFile = path.join(repo.stateDir, 'daemon-c.pid');
    const s = create();
    const lost: string[] = [];
    s.events.on('coord:failed', ({ taskId, error }) => lost.push(`${taskId}:${error.code}`));
    await s.start();
    // One attempt only: the retry would start a second daemon and muddle what is checked.
    await s.submit([{ id: 'orphaned', run: ['sh', '-c', `${daemonScript(pidFile)} sleep 300`], maxAttempts: 1 }]);
    const pid = await daemonPid(pidFile);
    const workerPid = s.status().workers[0]?.pid;
    expect(workerPid).toBeTypeOf('number');
    process.kill(workerPid as number, 'SIGKILL');
    await expect.poll(() => lost, { timeout: 20_000 }).toContain('orphaned:WORKER_CRASHED');
    await expect.poll(() => isAlive(pid), { timeout: 10_000, interval: 50 }).toBe(false);
  });
});
