/**
 * Attempt cgroups on this machine, when it allows them: a task spawned through the
 * containment starts inside its cgroup, a detached child stays there with no marker in its
 * environment at all, and the reap kills it and removes the cgroup.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CGROUPS_VAR, probeCgroups, probeCgroupsUnless } from '../../src/procs/cgroup.js';
import { containAttempt } from '../../workers/task-containment.js';
import { isAlive } from '../helpers/git-repo.js';

const probe = probeCgroups();

describe('the cgroup probe', () => {
  it('says why when no cgroup can be created', () => {
    expect(probeCgroups(null)).toEqual({ ok: false, reason: 'no cgroup v2 hierarchy holds this process' });
    const missing = probeCgroups('/nonexistent/cgroup');
    expect(missing.ok).toBe(false);
    expect(!missing.ok && missing.reason).toMatch(/cannot create a cgroup in \/nonexistent\/cgroup: ENOENT/);
    expect(probeCgroupsUnless({ [CGROUPS_VAR]: 'off' })).toEqual({ ok: false, reason: `${CGROUPS_VAR}=off` });
  });

  it('leaves nothing behind', () => {
    if (probe.ok) expect(readdirSync(probe.base).filter((name) => name.startsWith(`coord-probe-${process.pid}-`))).toEqual([]);
  });
});

describe.runIf(probe.ok)('attempt cgroups', () => {
  it('holds a detached child that carries no marker, and the reap kills it and removes the cgroup', async () => {
    if (!probe.ok) return;
    const containment = containAttempt(`t${process.pid}.w1.cg.1.lease`, probe.base);
    const target = containment.wrap({ file: '/bin/sh', args: ['-c', 'setsid sleep 300 </dev/null >/dev/null 2>&1 & echo $!'] });
    const dir = containment.cgroupDir;
    expect(dir).not.toBeNull();
    const child = spawn(target.file, target.args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    await new Promise((resolve) => child.once('exit', resolve));
    const pid = Number(out.trim());
    expect(isAlive(pid)).toBe(true);
    expect(readFileSync(`/proc/${pid}/cgroup`, 'utf8')).toContain(`/${path.basename(dir as string)}\n`);
    expect(readFileSync(`/proc/${pid}/environ`, 'utf8')).not.toContain('COORD_ATTEMPT_MARKER');
    const result = await containment.reap();
    expect(result?.cgroupPids).toEqual([pid]);
    expect(result?.cgroupsLeft).toEqual([]);
    await expect.poll(() => isAlive(pid)).toBe(false);
    expect(existsSync(dir as string)).toBe(false);
  });
});
