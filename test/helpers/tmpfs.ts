/**
 * Small tmpfs mounts for storage-fault tests: a full disk and a read-only state directory
 * are real kernel behaviours only a mount gives (root ignores chmod). Mounting needs root
 * (or CAP_SYS_ADMIN); where it is impossible, tests skip and say why.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Mounts a tmpfs at `dir` (created) with `options`, e.g. `size=256k` or `ro,size=64k`. */
export function mountTmpfs(dir: string, options: string): void {
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { stdio: 'pipe' });
}

/** Unmounts `dir` if it is mounted (lazily, so a process still holding a file cannot block clean-up). */
export function unmount(dir: string): void {
  try {
    execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
  } catch {
    // not mounted (the test failed before mounting it)
  }
}

/** Null when this process can mount a tmpfs; otherwise why not (for the skip message). */
export function whyTmpfsIsImpossible(): string | null {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'coord-mount-probe-'));
  try {
    mountTmpfs(dir, 'size=64k');
    unmount(dir);
    return null;
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    return `cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN${typeof process.getuid === 'function' ? `; uid ${process.getuid()}` : ''}): ${stderr || String(error)}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
