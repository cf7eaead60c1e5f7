/**
 * Per-attempt cgroups (cgroup v2), where the kernel allows them: a child of our own cgroup
 * named `coord-<attempt marker>`. Every process of the attempt starts inside it (the task is
 * spawned through a tiny shell that moves itself in before `exec`ing the program), stays in
 * it whatever it does to its session, process group or environment, and is killed at once
 * by writing `1` to `cgroup.kill` (Linux ≥ 5.14).
 *
 * Whether that works is probed once per process by creating, checking and removing a
 * throw-away child cgroup; without write access (an unprivileged user outside a delegated
 * subtree, a cgroup v1-only system, a kernel without `cgroup.kill`) the probe says why and
 * coord relies on the attempt marker alone.
 */
import { accessSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { markerMatches, type MarkerSelector } from './attempt-marker.js';
import { ownCgroupDir } from './cgroup-parse.js';

/** Per-attempt cgroup names start with this. */
export const CGROUP_PREFIX = 'coord-';

/** The probe's verdict: where attempt cgroups go, or why there are none. */
export type CgroupProbe = { ok: true; base: string } | { ok: false; reason: string };

const read = (file: string): string | null => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
};

/** Our own cgroup v2 directory (Linux), or null. Does not check that it may be written. */
export function locateOwnCgroup(): string | null {
  if (process.platform !== 'linux') return null;
  const mountinfo = read('/proc/self/mountinfo');
  const selfCgroup = read('/proc/self/cgroup');
  return mountinfo === null || selfCgroup === null ? null : ownCgroupDir(mountinfo, selfCgroup);
}

/** The environment variable that turns attempt cgroups off (`off`): markers and groups only. */
export const CGROUPS_VAR = 'COORD_TASK_CGROUPS';

/** {@link probeCgroups}, unless `env` turns cgroups off. */
export function probeCgroupsUnless(env: NodeJS.ProcessEnv): CgroupProbe {
  return env[CGROUPS_VAR] === 'off' ? { ok: false, reason: `${CGROUPS_VAR}=off` } : probeCgroups();
}

/** Tries to create a child cgroup of `base` we could move a task into and kill; always cleans up. */
export function probeCgroups(base: string | null = locateOwnCgroup()): CgroupProbe {
  if (base === null) return { ok: false, reason: 'no cgroup v2 hierarchy holds this process' };
  if (!existsSync('/bin/sh')) return { ok: false, reason: 'no /bin/sh to move a task into its cgroup' };
  const probe = path.join(base, `${CGROUP_PREFIX}probe-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    mkdirSync(probe);
  } catch (error) {
    return { ok: false, reason: `cannot create a cgroup in ${base}: ${(error as NodeJS.ErrnoException).code ?? String(error)}` };
  }
  try {
    if (!existsSync(path.join(probe, 'cgroup.kill'))) return { ok: false, reason: 'cgroup.kill is missing (Linux < 5.14)' };
    // Moving a process needs write access to the destination's cgroup.procs and to the
    // common ancestor's (ours): checked without moving anything.
    accessSync(path.join(probe, 'cgroup.procs'), constants.W_OK);
    accessSync(path.join(probe, 'cgroup.kill'), constants.W_OK);
    accessSync(path.join(base, 'cgroup.procs'), constants.W_OK);
    return { ok: true, base };
  } catch (error) {
    return { ok: false, reason: `cgroup files are not writable: ${(error as NodeJS.ErrnoException).code ?? String(error)}` };
  } finally {
    try {
      rmdirSync(probe);
    } catch {
      // an empty cgroup just created always goes; if not, it is empty and harmless
    }
  }
}

/** The directory of the attempt cgroup for `marker` under `base`. */
export function attemptCgroupDir(base: string, marker: string): string {
  return path.join(base, `${CGROUP_PREFIX}${marker}`);
}

/** Creates the attempt cgroup; false when it cannot be (the task then runs without one). */
export function createAttemptCgroup(dir: string): boolean {
  try {
    mkdirSync(dir);
    return true;
  } catch {
    return false;
  }
}

/** The attempt cgroups under `base` that `selector` selects. */
export function listAttemptCgroups(base: string, selector: MarkerSelector): string[] {
  let names: string[];
  try {
    names = readdirSync(base);
  } catch {
    return [];
  }
  return names.filter((name) => name.startsWith(CGROUP_PREFIX) && markerMatches(name.slice(CGROUP_PREFIX.length), selector))
    .map((name) => path.join(base, name));
}

/** The pids in the cgroup at `dir` right now (empty when it is gone). */
export function cgroupPids(dir: string): number[] {
  const procs = read(path.join(dir, 'cgroup.procs'));
  return procs === null ? [] : procs.split('\n').filter((line) => line !== '').map(Number);
}

/** Kills every process in the cgroup at `dir` (synchronously asks the kernel); false when it is gone. */
export function killCgroup(dir: string): boolean {
  try {
    writeFileSync(path.join(dir, 'cgroup.kill'), '1');
    return true;
  } catch {
    return false;
  }
}

/** True when nothing runs in the cgroup at `dir` any more (or it is gone). */
export function cgroupEmpty(dir: string): boolean {
  const events = read(path.join(dir, 'cgroup.events'));
  return events === null || /^populated 0$/m.test(events);
}

function tryRemove(dir: string): boolean {
  if (!cgroupEmpty(dir)) return false;
  try {
    rmdirSync(dir);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

/**
 * {@link removeCgroup} for a process about to exit, which cannot await: blocks for up to
 * `timeoutMs` (killed processes are usually gone within a millisecond or two).
 */
export function removeCgroupSync(dir: string, timeoutMs = 250): boolean {
  const deadline = Date.now() + timeoutMs;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let delay = 1; ; delay = Math.min(delay * 2, 25)) {
    if (tryRemove(dir)) return true;
    if (Date.now() >= deadline) return false;
    Atomics.wait(pause, 0, 0, delay); // a synchronous sleep
  }
}

/**
 * Removes the cgroup at `dir` once its killed processes have gone (the kernel refuses to
 * remove a populated cgroup), waiting up to `timeoutMs`. False when it is still there.
 */
export async function removeCgroup(dir: string, timeoutMs = 2_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    if (tryRemove(dir)) return true;
    if (Date.now() >= deadline) return false;
    await sleep(delay);
  }
}
