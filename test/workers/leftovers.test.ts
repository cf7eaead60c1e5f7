/**
 * A worker that exits ends what its tasks left outside their process groups: on SIGTERM or
 * a lost supervisor (abandon: synchronous, nothing awaited) and on coord:shutdown. The task
 * starts a `setsid` daemon and keeps running; the worker's own sweep must get the daemon,
 * by its attempt marker alone (cgroups off), or through the attempt cgroup where this
 * machine allows one, which must then be gone too.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CGROUPS_VAR, probeCgroups } from '../../src/procs/cgroup.js';
import { cgroup2Mount } from '../../src/procs/cgroup-parse.js';
import { createTempRepo, isGone, removeTempRepo, runAssign, WorkerHandle, type TempRepo } from './harness.js';

const cgroupsHere = probeCgroups().ok;
const CGROUP2_MOUNT = cgroup2Mount(readFileSync('/proc/self/mountinfo', 'utf8'))?.mountPoint ?? '/nonexistent';

let repo: TempRepo;
let worker: WorkerHandle;
let daemon: number | undefined;
beforeEach(async () => {
  repo = await createTempRepo();
});
afterEach(async () => {
  delete process.env[CGROUPS_VAR];
  await worker.dispose();
  if (daemon !== undefined && !(await isGone(daemon))) process.kill(daemon, 'SIGKILL');
  daemon = undefined;
  await removeTempRepo(repo);
});

async function startWorker(cgroups: boolean): Promise<void> {
  if (!cgroups) process.env[CGROUPS_VAR] = 'off'; // inherited by the forked worker
  worker = new WorkerHandle(repo.worktree);
  await worker.start(repo.worktree);
}

async function startDaemonTask(): Promise<number> {
  const pidFile = path.join(repo.root, 'daemon.pid');
  const script = `setsid sh -c 'echo $$ > "${pidFile}.tmp" && mv "${pidFile}.tmp" "${pidFile}" && exec sleep 300' </dev/null >/dev/null 2>&1 & sleep 300`;
  worker.send(runAssign(repo, 'daemon', ['sh', '-c', script]));
  await expect.poll(() => existsSync(pidFile), { timeout: 20_000 }).toBe(true);
  daemon = Number(readFileSync(pidFile, 'utf8').trim());
  expect(await isGone(daemon)).toBe(false);
  return daemon;
}

describe('a worker that exits ends its tasks\' leftovers', () => {
  it('on SIGTERM (abandon), before it exits', async () => {
    await startWorker(false);
    const pid = await startDaemonTask();
    worker.child.kill('SIGTERM');
    expect((await worker.exited).code).toBe(143);
    expect(await isGone(pid)).toBe(true);
    // The worker's own sweep did it, and logged the pid.
    const abandon = worker.stderr.split('\n').find((line) => line.includes('abandoning worker')) ?? '';
    expect(JSON.parse(abandon)).toMatchObject({ leftoverPids: expect.arrayContaining([pid]) });
  });

  it('on coord:shutdown, after cancelling the task', async () => {
    await startWorker(false);
    const pid = await startDaemonTask();
    worker.send({ type: 'coord:shutdown', graceMs: 5_000 });
    expect((await worker.exited).code).toBe(0);
    expect(await isGone(pid)).toBe(true);
  });

  it.runIf(cgroupsHere)('on abandon, through the attempt cgroup, which it then removes', async () => {
    await startWorker(true);
    const pid = await startDaemonTask();
    const cgroup = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((line) => line.startsWith('0::'))?.slice(3) ?? '';
    expect(cgroup).toMatch(/\/coord-[^/]+\.w1\.daemon\.1\.lease-daemon$/);
    const dir = path.join(CGROUP2_MOUNT, cgroup);
    worker.child.kill('SIGTERM');
    expect((await worker.exited).code).toBe(143);
    expect(await isGone(pid)).toBe(true);
    expect(existsSync(dir)).toBe(false);
  });
});
