import { describe, expect, it } from 'vitest';
import { cgroup2Mount, ownCgroup2Path, ownCgroupDir } from '../../src/procs/cgroup-parse.js';

// A hybrid system (v1 controllers, cgroup2 at /sys/fs/cgroup/unified), like this machine.
const hybrid = [
  '30 25 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755',
  '31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw',
  '33 30 0:29 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,memory',
].join('\n');
// A pure v2 system with optional fields and a namespaced root.
const pure = '29 23 0:26 /user.slice /sys/fs/cgroup rw,nosuid shared:4 master:1 - cgroup2 cgroup2 rw,nsdelegate';

describe('cgroup location', () => {
  it('finds the cgroup2 mount, not the v1 ones', () => {
    expect(cgroup2Mount(hybrid)).toEqual({ root: '/', mountPoint: '/sys/fs/cgroup/unified' });
    expect(cgroup2Mount(pure)).toEqual({ root: '/user.slice', mountPoint: '/sys/fs/cgroup' });
    expect(cgroup2Mount(hybrid.split('\n').filter((l) => !l.includes('cgroup2')).join('\n'))).toBeNull();
  });

  it('decodes escaped mount points', () => {
    expect(cgroup2Mount('1 2 0:1 / /mnt/my\\040cgroups rw - cgroup2 none rw')?.mountPoint).toBe('/mnt/my cgroups');
  });

  it('reads the 0:: line of /proc/self/cgroup', () => {
    expect(ownCgroup2Path('4:memory:/x\n1:cpu:/\n0::/user.slice/session-1.scope\n')).toBe('/user.slice/session-1.scope');
    expect(ownCgroup2Path('4:memory:/x\n')).toBeNull();
    expect(ownCgroup2Path('0::/gone (deleted)\n')).toBeNull();
  });

  it('joins our path to the mount, within a namespaced root too', () => {
    expect(ownCgroupDir(hybrid, '0::/\n')).toBe('/sys/fs/cgroup/unified');
    expect(ownCgroupDir(hybrid, '0::/a/b\n')).toBe('/sys/fs/cgroup/unified/a/b');
    expect(ownCgroupDir(pure, '0::/user.slice/app.scope\n')).toBe('/sys/fs/cgroup/app.scope');
    expect(ownCgroupDir(pure, '0::/system.slice/x\n')).toBeNull();
  });
});
