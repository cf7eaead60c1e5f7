/**
 * The process-lifetime file lock: refused while held (naming the holder), free once
 * released, and free once the holding process is killed with SIGKILL.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { thisProcess, tryLockFile } from '../../src/locks/file-lock.js';
import { ROOT } from '../helpers/cli.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function lockPath(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'coord-lock-'));
  dirs.push(dir);
  return path.join(dir, 'x.lock');
}

describe('file lock', () => {
  it('refuses a second holder in the same process and names the first; frees on release', () => {
    const file = lockPath();
    const first = tryLockFile(file, thisProcess('node-a', 'the thing'));
    expect(first.ok).toBe(true);
    const second = tryLockFile(file, thisProcess('node-b', 'the thing'));
    expect(second).toMatchObject({ ok: false, holder: { pid: process.pid, nodeId: 'node-a', what: 'the thing' } });
    if (first.ok) first.lock.release();
    const third = tryLockFile(file, thisProcess('node-c', 'the thing'));
    expect(third.ok).toBe(true);
    if (third.ok) third.lock.release();
  });

  it('is free again once the holding process is killed with SIGKILL', async () => {
    const file = lockPath();
    const script = `import { tryLockFile, thisProcess } from ${JSON.stringify(path.join(ROOT, 'src', 'locks', 'file-lock.ts'))};
      const a = tryLockFile(${JSON.stringify(file)}, thisProcess('child', 'x'));
      console.log(a.ok ? 'locked' : 'refused'); setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => d.toString().includes('locked') && resolve()));
    const whileAlive = tryLockFile(file, thisProcess('parent', 'x'));
    expect(whileAlive).toMatchObject({ ok: false, holder: { pid: child.pid, nodeId: 'child' } });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    const after = tryLockFile(file, thisProcess('parent', 'x'));
    expect(after.ok).toBe(true);
    if (after.ok) after.lock.release();
  });
});
