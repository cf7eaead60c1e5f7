/**
 * Git through one long-lived shell: the same answers as a forked git (output with NULs and
 * newlines, stderr, exit codes, quoting of any argument, per-command variables), one command
 * at a time, a folder that does not exist reported as a failed start, and a shell that dies
 * replaced for the next command. Its folder goes with it.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { commandLine, GitShell, shellQuote } from '../../src/git/git-shell.js';
import { makeRepo, type TempRepo } from '../helpers/git-repo.js';

let repo: TempRepo | null = null;
let shell: GitShell | null = null;
afterEach(() => {
  shell?.close();
  repo?.cleanup();
});

describe('shellQuote and commandLine', () => {
  it('quote every word whole, and refuse a variable name the shell would read as code', () => {
    expect(shellQuote("it's $HOME `x`")).toBe(`'it'\\''s $HOME \`x\`'`);
    expect(shellQuote('a\nb')).toBe(`'a'"$nl"'b'`);
    expect(commandLine('t1', ['log', '-1'], '/w', { A: 'b c' })).toContain(`A='b c' git 'log' '-1'`);
    expect(() => commandLine('t1', ['x'], '/w', { 'A;rm -rf /': '1' })).toThrow(/not an environment variable name/);
  });
});

describe('GitShell', () => {
  it('answers as a forked git would, one command after another', async () => {
    repo = makeRepo({ 'a b.txt': "it's\n" });
    shell = new GitShell();
    const tricky = "message with 'quotes', $HOME, `ticks` and\na newline";
    const commit = await shell.run(['-c', 'commit.gpgsign=false', 'commit', '--allow-empty', '--quiet', '-m', tricky], { cwd: repo.repo, env: {} });
    expect(commit.exitCode).toBe(0);
    expect(repo.git('log', '-1', '--format=%B')).toBe(tricky);
    const [ls, missing, author] = await Promise.all([
      shell.run(['ls-files', '-z'], { cwd: repo.repo, env: {} }),
      shell.run(['rev-parse', '--verify', 'no-such-ref'], { cwd: repo.repo, env: {} }),
      shell.run(['var', 'GIT_AUTHOR_IDENT'], { cwd: repo.repo, env: { GIT_AUTHOR_NAME: 'Some One', GIT_AUTHOR_EMAIL: 'one@coord.invalid' } }),
    ]);
    expect(ls.stdout).toBe(execFileSync('git', ['ls-files', '-z'], { cwd: repo.repo, encoding: 'utf8' }));
    expect(ls.stdout).toContain('a b.txt\0');
    expect(missing.exitCode).toBe(128);
    expect(missing.stderr).toMatch(/fatal/);
    expect(author.stdout).toMatch(/^Some One <one@coord\.invalid>/);
  });

  it('reports a folder that does not exist as a failed start, and starts again after its shell dies', async () => {
    repo = makeRepo();
    shell = new GitShell();
    expect((await shell.run(['status'], { cwd: path.join(repo.dir, 'nowhere'), env: {} })).exitCode).toBe(-1);
    const first = shell.pid as number;
    process.kill(first, 'SIGKILL');
    await expect.poll(() => shell?.pid).not.toBe(first);
    const again = await shell.run(['rev-parse', 'HEAD'], { cwd: repo.repo, env: {} });
    expect(again.exitCode).toBe(0);
    expect(again.stdout.trim()).toBe(repo.git('rev-parse', 'HEAD'));
    expect(shell.pid).not.toBe(first);
  });

  it('keeps its files in a folder of its own, removed when it ends', async () => {
    repo = makeRepo();
    const tmp = path.join(repo.dir, 'tmp');
    mkdirSync(tmp);
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = tmp;
    try {
      shell = new GitShell();
      expect((await shell.run(['rev-parse', '--git-dir'], { cwd: repo.repo, env: {} })).exitCode).toBe(0);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
    expect(readdirSync(tmp).filter((name) => name.startsWith('coord-git-'))).toHaveLength(1);
    shell.close();
    shell = null;
    await expect.poll(() => readdirSync(tmp)).toEqual([]);
  });
});
