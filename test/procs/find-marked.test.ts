/**
 * The sweep's filtering, on a fake /proc: only our uid, never us or our ancestors, races
 * with exiting processes skipped; then the same against the real /proc with real children.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { findMarked, selfAndAncestors, type ProcSource } from '../../src/procs/find-marked.js';
import { attemptSelector, MARKER_VAR, runSelector } from '../../src/procs/attempt-marker.js';
import { sweepMarked } from '../../src/procs/sweep-marked.js';

interface FakeProc {
  uid: number;
  ppid: number;
  marker?: string;
  /** The process exits between the listing and this read. */
  vanishesAt?: 'uid' | 'environ';
}

function fakeProc(procs: Record<number, FakeProc>): ProcSource {
  const entry = (pid: number): FakeProc | undefined => procs[pid];
  return {
    pids: () => Object.keys(procs).map(Number),
    uid: (pid) => (entry(pid) === undefined || entry(pid)?.vanishesAt === 'uid' ? null : (entry(pid) as FakeProc).uid),
    environ: (pid) => {
      const proc = entry(pid);
      if (proc === undefined || proc.vanishesAt !== undefined) return null;
      return Buffer.from(`PATH=/bin\0${proc.marker === undefined ? '' : `${MARKER_VAR}=${proc.marker}\0`}`);
    },
    parent: (pid) => entry(pid)?.ppid ?? null,
  };
}

const run = 'run1';
const marker = `${run}.w1.t.1.lease`;

describe('findMarked on a fake /proc', () => {
  // 1 init, 10 a shell, 20 the supervisor (us) started from inside a coord task (so it
  // carries a marker of that run), 21 its worker, 30/31 task processes, 40 someone else's.
  const procs: Record<number, FakeProc> = {
    1: { uid: 0, ppid: 0 },
    10: { uid: 1000, ppid: 1, marker },
    20: { uid: 1000, ppid: 10, marker },
    21: { uid: 1000, ppid: 20 },
    30: { uid: 1000, ppid: 1, marker },
    31: { uid: 1000, ppid: 30, marker: `${run}.w2.t.1.lease` },
    40: { uid: 1001, ppid: 1, marker },
    50: { uid: 1000, ppid: 1, marker, vanishesAt: 'environ' },
    51: { uid: 1000, ppid: 1, marker, vanishesAt: 'uid' },
  };
  const self = { pid: 20, uid: 1000 };

  it('walks our ancestry to the root', () => {
    expect([...selfAndAncestors(self, fakeProc(procs))]).toEqual([20, 10, 1]);
  });

  it('returns marked processes of our uid, never us, our ancestors or another uid', () => {
    expect(findMarked({ exact: marker }, fakeProc(procs), self)).toEqual([30]);
    expect(findMarked(runSelector(run), fakeProc(procs), self)).toEqual([30, 31]);
  });

  it('skips processes that vanish mid-scan', () => {
    expect(findMarked({ exact: marker }, fakeProc(procs), self)).not.toContain(50);
    expect(findMarked({ exact: marker }, fakeProc(procs), self)).not.toContain(51);
  });

  it('stops a parent loop a broken source could describe', () => {
    expect([...selfAndAncestors({ pid: 5, uid: 0 }, fakeProc({ 5: { uid: 0, ppid: 6 }, 6: { uid: 0, ppid: 5 } }))]).toEqual([5, 6]);
  });
});

describe('sweepMarked on a fake /proc', () => {
  it('stops what it finds, rescans for children forked meanwhile, then kills them all', () => {
    const procs: Record<number, FakeProc> = { 100: { uid: 1, ppid: 1, marker } };
    const signals: string[] = [];
    const source = fakeProc(procs);
    const sweep = sweepMarked({ exact: marker }, {
      source,
      platform: 'linux',
      self: { pid: 2, uid: 1 },
      // 100 forks 101 just before it is stopped; 101 is found by the second pass.
      signal: (pid, signal) => {
        signals.push(`${signal}:${pid}`);
        if (pid === 100 && signal === 'SIGSTOP') procs[101] = { uid: 1, ppid: 100, marker };
      },
    });
    expect(signals).toEqual(['SIGSTOP:100', 'SIGSTOP:101', 'SIGKILL:100', 'SIGKILL:101']);
    expect(sweep).toMatchObject({ supported: true, killed: [100, 101], passes: 3, complete: true });
  });

  it('gives up after the pass limit, killing what it found, and says so', () => {
    let next = 200;
    const procs: Record<number, FakeProc> = { [next]: { uid: 1, ppid: 1, marker } };
    const sweep = sweepMarked({ exact: marker }, {
      source: fakeProc(procs), platform: 'linux', self: { pid: 2, uid: 1 }, maxPasses: 3,
      signal: (_pid, signal) => {
        if (signal === 'SIGSTOP') procs[++next] = { uid: 1, ppid: 1, marker }; // a fork bomb outrunning the scan
      },
    });
    expect(sweep.complete).toBe(false);
    expect(sweep.passes).toBe(3);
    expect(sweep.killed).toEqual([200, 201, 202]);
  });

  it('does nothing on a system without /proc environ', () => {
    const signals: number[] = [];
    const sweep = sweepMarked({ exact: marker }, { platform: 'darwin', signal: (pid) => signals.push(pid) });
    expect(sweep).toMatchObject({ supported: false, killed: [], passes: 0 });
    expect(signals).toEqual([]);
  });
});

describe.runIf(process.platform === 'linux')('the real /proc', () => {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
  });
  const start = (env: Record<string, string>): ChildProcess => {
    const child = spawn('sleep', ['300'], { env: { ...process.env, ...env }, stdio: 'ignore', detached: true });
    children.push(child);
    return child;
  };
  const exited = (child: ChildProcess): Promise<unknown> => new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(null);
    else child.once('exit', resolve);
  });

  it('finds and kills exactly the processes of one attempt', async () => {
    const parts = { runId: `t${process.pid}`, workerId: 'w1', taskId: 'real', attempt: 1, lease: 'l' };
    const mine = start({ [MARKER_VAR]: `${parts.runId}.w1.real.1.l` });
    const other = start({ [MARKER_VAR]: `${parts.runId}.w1.real.2.l` });
    const unmarked = start({});
    await expect.poll(() => findMarked(attemptSelector(parts))).toEqual([mine.pid]);
    const sweep = sweepMarked(attemptSelector(parts));
    expect(sweep.killed).toEqual([mine.pid]);
    await exited(mine);
    expect(mine.signalCode).toBe('SIGKILL');
    expect(other.exitCode === null && other.signalCode === null).toBe(true);
    expect(unmarked.exitCode === null && unmarked.signalCode === null).toBe(true);
    expect(findMarked(runSelector(parts.runId))).toEqual([other.pid]);
  });
});
