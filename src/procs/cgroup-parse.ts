/**
 * Pure parsers for locating this process's cgroup v2 directory: the cgroup2 mount from
 * `/proc/self/mountinfo` and our path in it from `/proc/self/cgroup` (the `0::` line). On a
 * hybrid system (cgroup v1 controllers plus a cgroup2 hierarchy at `/sys/fs/cgroup/unified`)
 * and on a pure v2 system (`/sys/fs/cgroup`) alike, the cgroup2 hierarchy is the one line
 * whose file-system type is `cgroup2`.
 */
import path from 'node:path';

/** A cgroup2 mount: where it is mounted and which cgroup its root shows (`/` unless namespaced). */
export interface Cgroup2Mount {
  mountPoint: string;
  root: string;
}

// mountinfo escapes space, tab, newline and backslash in paths as three octal digits.
const unescape = (field: string): string => field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));

/** The first cgroup2 mount in the contents of `/proc/self/mountinfo`, or null. */
export function cgroup2Mount(mountinfo: string): Cgroup2Mount | null {
  for (const line of mountinfo.split('\n')) {
    const fields = line.split(' ');
    const separator = fields.indexOf('-');
    // Fields before the separator: id, parent, major:minor, root, mount point, options, optional tags.
    if (separator < 5 || fields[separator + 1] !== 'cgroup2') continue;
    const root = fields[3];
    const mountPoint = fields[4];
    if (root !== undefined && mountPoint !== undefined) return { root: unescape(root), mountPoint: unescape(mountPoint) };
  }
  return null;
}

/** Our cgroup2 path (e.g. `/user.slice/…`) from the contents of `/proc/self/cgroup`, or null. */
export function ownCgroup2Path(selfCgroup: string): string | null {
  for (const line of selfCgroup.split('\n')) {
    if (line.startsWith('0::')) {
      const cgroupPath = line.slice(3).trim();
      // A process whose cgroup was removed under it shows " (deleted)": nothing to build on.
      return cgroupPath.startsWith('/') && !cgroupPath.endsWith(' (deleted)') ? cgroupPath : null;
    }
  }
  return null;
}

/**
 * The directory of our own cgroup, where per-attempt child cgroups go, or null when it
 * cannot be derived (no cgroup2 mount, no `0::` line, or our cgroup lies outside the mount's root).
 */
export function ownCgroupDir(mountinfo: string, selfCgroup: string): string | null {
  const mount = cgroup2Mount(mountinfo);
  const own = ownCgroup2Path(selfCgroup);
  if (mount === null || own === null) return null;
  // resolve, not join: our cgroup may be the root, and `…/unified/` is not a name to build on.
  if (mount.root === '/') return path.resolve(mount.mountPoint, `.${own}`);
  if (own === mount.root || own.startsWith(`${mount.root}/`)) return path.resolve(mount.mountPoint, `.${own.slice(mount.root.length)}`);
  return null;
}
