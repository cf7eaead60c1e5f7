/**
 * Attempt logs are capped: a task that prints 200 MB through a real PTY leaves a log of
 * about the cap (head + elision note + tail + coord's own lines), and the run summary says
 * so from the file alone.
 */
import { existsSync, openSync, readFileSync, readSync, closeSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { makeRepo, type TempRepo } from '../helpers/git-repo.js';
import type { RunSummary } from '../../src/index.js';

const DEFAULT_CAP = 52_428_800;
const OUTPUT = 200_000_000;
/** Header, elision note, `ended:` and trailer lines: a few hundred bytes; 4 KiB is generous. */
const OVERHEAD = 4096;

let repo: TempRepo;
afterEach(() => repo?.cleanup());

function readRange(file: string, start: number, length: number): string {
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const read = readSync(fd, buffer, 0, length, start);
    return buffer.subarray(0, read).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

describe('attempt logs are capped', () => {
  it('keeps the head and the tail of a 200 MB output within the default cap, and the summary says truncated', async () => {
    repo = makeRepo();
    // BEGIN first, 200 MB of x, END last: the log must start and end with the task's own words.
    // The short sleep keeps the terminal open after END: on Linux node-pty can drop the last
    // PTY buffer of a process that exits right after writing (microsoft/node-pty#72, #726).
    const script = `printf 'BEGIN-OUTPUT\\n'; head -c ${OUTPUT} /dev/zero | tr '\\0' x; printf '\\nEND-OUTPUT\\n'; sleep 0.3`;
    const tasksFile = path.join(repo.dir, 'tasks.json');
    writeFileSync(tasksFile, JSON.stringify({ tasks: [{ id: 'loud', run: ['sh', '-c', script] }] }));
    const summaryFile = path.join(repo.dir, 'run.json');
    const { code, stderr } = await runCli([
      '--workers', '1', '--repo', repo.repo, '--tasks', tasksFile, '--once', '--summary', summaryFile,
      '--worktree-root', repo.worktreeRoot, '--state-dir', repo.stateDir,
    ]);
    expect(code, stderr).toBe(0);
    expect(existsSync(summaryFile)).toBe(true);
    const summary = JSON.parse(readFileSync(summaryFile, 'utf8')) as RunSummary;
    const task = summary.tasks.find((t) => t.id === 'loud');
    const logFile = path.join(repo.stateDir, 'logs', 'tasks', 'loud', 'attempt-1.log');
    expect(task?.logFile).toBe(logFile);

    const size = statSync(logFile).size;
    expect(size).toBeLessThanOrEqual(DEFAULT_CAP + OVERHEAD);
    const head = readRange(logFile, 0, 4096);
    expect(head).toMatch(/^\[coord\] \S+ task loud attempt 1 worker w1 argv /);
    expect(head.split('\n')[1]).toMatch(/^BEGIN-OUTPUT\r?$/);
    const tail = readRange(logFile, size - 4096, 4096);
    expect(tail).toMatch(/x{1000}\r?\nEND-OUTPUT\r?\n\n\[coord\] ended: reason=exit exitCode=0 signal=null durationMs=\d+\n\[coord\] log: outputBytes=\d+ keptBytes=\d+ capBytes=52428800 truncated=true\n$/);
    // The note sits between head and tail, once, with the figures.
    const middle = readRange(logFile, DEFAULT_CAP / 2 - 1024, 4096);
    expect(middle).toMatch(/\n\[coord\] … \d+ bytes elided \(log capped at 52428800 bytes\) …\n/);

    expect(task?.log).toMatchObject({ file: logFile, bytes: size, keptBytes: DEFAULT_CAP, capBytes: DEFAULT_CAP, truncated: true });
    const outputBytes = task?.log?.outputBytes ?? 0;
    // What the terminal sent: the 200 MB plus the markers, with \n maybe turned into \r\n.
    expect(outputBytes).toBeGreaterThanOrEqual(OUTPUT + 'BEGIN-OUTPUT\nEND-OUTPUT\n'.length);
    expect(outputBytes).toBeLessThan(OUTPUT + 64);
  }, 300_000);

  it('takes the cap from --max-log-bytes, and refuses one below 4 KiB before running anything', async () => {
    repo = makeRepo();
    const tasksFile = path.join(repo.dir, 'tasks.json');
    writeFileSync(tasksFile, JSON.stringify({ tasks: [{ id: 'mb', run: ['sh', '-c', "head -c 1000000 /dev/zero | tr '\\0' y; sleep 0.3"] }] }));
    const summaryFile = path.join(repo.dir, 'run.json');
    const common = ['--workers', '1', '--repo', repo.repo, '--tasks', tasksFile, '--once', '--summary', summaryFile,
      '--worktree-root', repo.worktreeRoot, '--state-dir', repo.stateDir];

    const refused = await runCli([...common, '--max-log-bytes', '4095']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/USAGE: --max-log-bytes must be an integer from 4096 to \d+, not "4095"/);
    expect(existsSync(summaryFile)).toBe(false);

    const { code, stderr } = await runCli([...common, '--max-log-bytes', '65536']);
    expect(code, stderr).toBe(0);
    const task = (JSON.parse(readFileSync(summaryFile, 'utf8')) as RunSummary).tasks[0];
    expect(task?.log).toMatchObject({ file: task?.logFile, outputBytes: 1_000_000, keptBytes: 65_536, capBytes: 65_536, truncated: true });
    expect(task?.log?.bytes).toBe(statSync(task?.logFile ?? '').size);
    expect(task?.log?.bytes).toBeLessThanOrEqual(65_536 + OVERHEAD);
  });
});
