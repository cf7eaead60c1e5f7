/**
 * One merge test run as a real process: its output in the log (after the header) and the
 * tail read back, SIGKILL after the grace period for a test that ignores SIGTERM, nothing it
 * started left running after it, and a command that cannot start.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startTest } from '../../src/merge/test-run.js';
import { isAlive } from '../helpers/git-repo.js';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function scratch(files: Record<string, string>): string {
  dir = mkdtempSync(path.join(os.tmpdir(), 'coord-merge-test-run-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

describe('startTest', () => {
  it('writes stdout and stderr to the log after the header and returns the last 40 lines', async () => {
    const cwd = scratch({ 'print.mjs': 'for (let i = 0; i < 50; i += 1) (i % 2 ? console.error : console.log)(`line ${i}`);\nprocess.exit(3);\n' });
    const logFile = path.join(cwd, 'run.log');
    const outcome = await startTest({ argv: [process.execPath, 'print.mjs'], cwd, logFile, header: '# header\n' }).done;
    expect(outcome).toMatchObject({ passed: false, cancelled: false, exitCode: 3, signal: null, logFile });
    expect(outcome.outputTail).toHaveLength(40);
    expect(outcome.outputTail[0]).toBe('line 10');
    expect(outcome.outputTail.at(-1)).toBe('line 49');
    const log = readFileSync(logFile, 'utf8');
    expect(log.startsWith('# header\nline 0\n')).toBe(true);
    expect(log).toContain('line 49');
  });

  it('passes on exit 0 with the header left out of the tail', async () => {
    const cwd = scratch({ 'ok.mjs': 'console.log("fine");\n' });
    const outcome = await startTest({ argv: [process.execPath, 'ok.mjs'], cwd, logFile: path.join(cwd, 'ok.log'), header: '# header\n' }).done;
    expect(outcome).toMatchObject({ passed: true, exitCode: 0, outputTail: ['fine'] });
  });

  it('kills a test that ignores SIGTERM with SIGKILL after the grace period; a cancelled run never passes', async () => {
    const cwd = scratch({ 'stubborn.mjs': 'import { writeFileSync } from "node:fs";\nprocess.on("SIGTERM", () => console.log("ignoring SIGTERM"));\nwriteFileSync("pid", String(process.pid));\nsetInterval(() => {}, 1000);\n' });
    const run = startTest({ argv: [process.execPath, 'stubborn.mjs'], cwd, logFile: path.join(cwd, 'stubborn.log'), header: '', killGraceMs: 300 });
    await vi.waitFor(() => expect(readFileSync(path.join(cwd, 'pid'), 'utf8')).not.toBe(''), { timeout: 10_000, interval: 20 });
    run.cancel();
    const outcome = await run.done;
    expect(outcome).toMatchObject({ passed: false, cancelled: true, exitCode: null, signal: 'SIGKILL' });
    expect(outcome.outputTail).toEqual(['ignoring SIGTERM']);
  });

  it('leaves nothing the test started running after it exits', async () => {
    const cwd = scratch({
      'spawner.mjs': 'import { spawn } from "node:child_process";\nimport { writeFileSync } from "node:fs";\nconst child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });\nwriteFileSync("child.pid", String(child.pid));\nchild.unref();\n',
    });
    const outcome = await startTest({ argv: [process.execPath, 'spawner.mjs'], cwd, logFile: path.join(cwd, 'spawner.log'), header: '' }).done;
    expect(outcome.passed).toBe(true);
    const pid = Number(readFileSync(path.join(cwd, 'child.pid'), 'utf8'));
    await vi.waitFor(() => expect(isAlive(pid)).toBe(false), { timeout: 5_000, interval: 20 });
  });

  it('rejects with CONFIG_INVALID when the command cannot start', async () => {
    const cwd = scratch({});
    await expect(startTest({ argv: [path.join(cwd, 'missing')], cwd, logFile: path.join(cwd, 'missing.log'), header: '' }).done).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    await expect(startTest({ argv: [], cwd, logFile: path.join(cwd, 'empty.log'), header: '' }).done).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });
});
