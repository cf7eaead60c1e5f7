/**
 * The memo that lets a sweep skip processes already known to carry no marker: pure rules
 * first (trust only after two reads far enough apart, a pid handed out again is read
 * afresh, a memo too old for the pid counter is dropped), then a sweep of a fake /proc that
 * counts its reads, then the real /proc with a child that takes a pid the memo had trusted.
 */
import { describe, expect, it } from 'vitest';
import { MARKER_VAR } from '../../src/procs/attempt-marker.js';
import type { ProcSource } from '../../src/procs/find-marked.js';
import { CONFIRM_AFTER_MS, handedOutBetween, MarkerMemo, type PidCounter } from '../../src/procs/marker-memo.js';
import { sweepMarked } from '../../src/procs/sweep-marked.js';

const counter = (lastPid: number, pidMax = 4_194_304): PidCounter => ({ lastPid, pidMax });

describe('handedOutBetween', () => {
  it('covers the pids after the old counter up to the new one, wrapping at pid_max', () => {
    expect(handedOutBetween(11, 10, 20)).toBe(true);
    expect(handedOutBetween(20, 10, 20)).toBe(true);
    expect(handedOutBetween(10, 10, 20)).toBe(false);
    expect(handedOutBetween(21, 10, 20)).toBe(false);
    expect(handedOutBetween(5, 10, 10)).toBe(false);
    // Wrapped: 30000 → 32767 → 300 → 5.
    expect(handedOutBetween(31_000, 30_000, 5)).toBe(true);
    expect(handedOutBetween(3, 30_000, 5)).toBe(true);
    expect(handedOutBetween(6, 30_000, 5)).toBe(false);
  });
});

describe('MarkerMemo', () => {
  it('trusts a pid only once two sweeps far enough apart read it unmarked', () => {
    const memo = new MarkerMemo();
    memo.begin(counter(100), 0);
    memo.unmarked(50);
    memo.unmarked(50); // a second pass of the same sweep counts once
    memo.end();
    expect(memo.trusted(50)).toBe(false);
    memo.begin(counter(100), CONFIRM_AFTER_MS - 1);
    memo.unmarked(50);
    memo.end();
    expect(memo.trusted(50)).toBe(false);
    memo.begin(counter(100), CONFIRM_AFTER_MS);
    memo.unmarked(50);
    memo.end();
    expect(memo.trusted(50)).toBe(true);
  });

  it('forgets a pid the kernel handed out since, one a sweep did not see unmarked, and everything when the counter is unknown or the memo too old', () => {
    const trustedMemo = (pids: number[]): MarkerMemo => {
      const memo = new MarkerMemo();
      for (const at of [0, CONFIRM_AFTER_MS]) {
        memo.begin(counter(100), at);
        for (const pid of pids) memo.unmarked(pid);
        memo.end();
      }
      return memo;
    };
    const reused = trustedMemo([50, 150]);
    reused.begin(counter(160), 2 * CONFIRM_AFTER_MS); // 101..160 handed out since
    expect(reused.trusted(50)).toBe(true);
    expect(reused.trusted(150)).toBe(false);
    reused.end(); // 50 was not seen in this sweep: gone, or marked now
    expect(reused.trusted(50)).toBe(false);

    const unknown = trustedMemo([50]);
    unknown.begin(null, 2 * CONFIRM_AFTER_MS);
    expect(unknown.trusted(50)).toBe(false);

    // pid_max 32768: at 100 forks/ms the counter can go round in 327 ms.
    const old = new MarkerMemo();
    for (const at of [0, CONFIRM_AFTER_MS]) {
      old.begin(counter(100, 32_768), at);
      old.unmarked(50);
      old.end();
    }
    expect(old.trusted(50)).toBe(true);
    old.begin(counter(100, 32_768), CONFIRM_AFTER_MS + 400);
    expect(old.trusted(50)).toBe(false);
  });
});

describe('a sweep with the memo', () => {
  it('reads each process once it is trusted no more, and still finds a marked process that takes a trusted pid', () => {
    const procs = new Map<number, string | null>([[10, null], [11, null], [12, 'other-run.w1.t.1.l']]);
    let lastPid = 12;
    const reads: number[] = [];
    const source: ProcSource = {
      pids: () => [...procs.keys()],
      uid: () => 0,
      environ: (pid) => {
        reads.push(pid);
        const marker = procs.get(pid);
        return Buffer.from(`PATH=/bin\0${marker ? `${MARKER_VAR}=${marker}\0` : ''}`);
      },
      parent: () => null,
      counter: () => ({ lastPid, pidMax: 4_194_304 }),
    };
    const memo = new MarkerMemo();
    const sweep = (): number[] => sweepMarked({ exact: 'run.w1.t.9.l' }, { source, memo, self: { pid: 1, uid: 0 }, signal: () => {} }).killed;
    const realNow = Date.now;
    let now = 1_000_000;
    Date.now = () => now;
    try {
      expect(sweep()).toEqual([]);
      now += CONFIRM_AFTER_MS;
      expect(sweep()).toEqual([]);
      reads.length = 0;
      now += 1;
      expect(sweep()).toEqual([]);
      // 10 and 11 are trusted; 12 carries another attempt's marker and is read every time.
      expect(reads).toEqual([12]);
      // 11 exits, the counter wraps round to it, and the attempt's process gets pid 11.
      procs.set(11, 'run.w1.t.9.l');
      lastPid = 11;
      now += 1;
      reads.length = 0;
      expect(sweep()).toEqual([11]);
    } finally {
      Date.now = realNow;
    }
  });
});

describe('a process caught in the middle of an exec', () => {
  it('shows an empty environment once; the sweep looks again a moment later and finds its marker', () => {
    let looks = 0;
    const source: ProcSource = {
      pids: () => [77],
      uid: () => 0,
      // The first read lands between the exec's switch of memory and its new environment.
      environ: () => (looks++ === 0 ? Buffer.alloc(0) : Buffer.from(`${MARKER_VAR}=run.w1.t.9.l\0`)),
      parent: () => null,
    };
    let paused = 0;
    const sweep = sweepMarked({ exact: 'run.w1.t.9.l' }, { source, memo: null, self: { pid: 1, uid: 0 }, signal: () => {}, pause: () => { paused += 1; } });
    expect(sweep.killed).toEqual([77]);
    expect(paused).toBe(1);
  });
});
