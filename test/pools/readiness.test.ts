import { describe, expect, it } from 'vitest';
import { poolsOf } from '../../src/pools/layout.js';
import { PoolReadiness } from '../../src/pools/readiness.js';
import { pollPoolReady } from '../../src/pools/wait-for-pool.js';
import { CoordError } from '../../src/errors.js';

const pools = poolsOf({
  workers: 1, workerCapabilities: [],
  pools: [{ id: 'a', workers: 2, capabilities: ['x'], env: {}, minReady: 2 }, { id: 'ext', workers: 0, capabilities: [], env: {}, minReady: 1 }],
});

describe('PoolReadiness', () => {
  it('counts own workers by state and announced ones while alive, and says when the verdict flips', () => {
    const readiness = new PoolReadiness(pools, 1_000);
    expect(readiness.get('a')).toEqual({ id: 'a', ready: false, workers: { total: 0, ready: 0, busy: 0 }, capabilities: ['x'], since: new Date(1_000).toISOString() });
    expect(readiness.update([{ pool: 'a', state: 'idle' }, { pool: 'a', state: 'setup' }], [], 2_000)).toEqual([]);
    expect(readiness.get('a')?.workers).toEqual({ total: 2, ready: 1, busy: 0 });
    const flipped = readiness.update([{ pool: 'a', state: 'idle' }, { pool: 'a', state: 'busy' }], [{ pool: 'ext', ready: true, alive: true }], 3_000);
    expect(flipped.map((s) => [s.id, s.ready, s.since])).toEqual([['a', true, new Date(3_000).toISOString()], ['ext', true, new Date(3_000).toISOString()]]);
    expect(readiness.get('a')?.workers).toEqual({ total: 2, ready: 2, busy: 1 });
    // Unchanged verdicts keep their since; a dead announcement stops counting at all.
    expect(readiness.update([{ pool: 'a', state: 'busy' }, { pool: 'a', state: 'busy' }], [{ pool: 'ext', ready: true, alive: false }], 4_000).map((s) => s.id)).toEqual(['ext']);
    expect(readiness.get('a')?.since).toBe(new Date(3_000).toISOString());
    expect(readiness.get('ext')).toMatchObject({ ready: false, workers: { total: 0, ready: 0, busy: 0 }, since: new Date(4_000).toISOString() });
    expect(readiness.get('nope')).toBeUndefined();
  });
});

describe('pollPoolReady', () => {
  const status = (ready: boolean) => ({ id: 'a', ready, workers: { total: 1, ready: ready ? 1 : 0, busy: 0 }, capabilities: [], since: '' });

  it('resolves at the first ready status, looking at each change besides the polls', async () => {
    let ready = false;
    let looks = 0;
    let notify: () => void = () => undefined;
    const waiting = pollPoolReady('a', async () => {
      looks += 1;
      return status(ready);
    }, { pollMs: 60_000, changes: (listener) => ((notify = listener), () => undefined) });
    await new Promise((resolve) => setImmediate(resolve));
    expect(looks).toBe(1);
    ready = true;
    notify();
    await expect(waiting).resolves.toMatchObject({ ready: true });
    expect(looks).toBe(2);
  });

  it('polls every pollMs, looks past passing errors, and ends on the caller\'s', async () => {
    let looks = 0;
    await expect(pollPoolReady('a', async () => {
      looks += 1;
      if (looks === 1) throw new Error('connection refused');
      return status(looks >= 3);
    }, { pollMs: 5 })).resolves.toMatchObject({ ready: true });
    expect(looks).toBe(3);
    await expect(pollPoolReady('nope', async () => {
      throw new CoordError('POOL_NOT_FOUND', 'no pool "nope"');
    }, { pollMs: 5 })).rejects.toMatchObject({ code: 'POOL_NOT_FOUND' });
  });

  it('gives up with POOL_NOT_READY after timeoutMs, and on abort with its reason', async () => {
    await expect(pollPoolReady('a', async () => status(false), { pollMs: 5, timeoutMs: 30 })).rejects.toMatchObject({ code: 'POOL_NOT_READY' });
    const controller = new AbortController();
    const waiting = pollPoolReady('a', async () => status(false), { pollMs: 5, signal: controller.signal });
    controller.abort(new Error('shutting down'));
    await expect(waiting).rejects.toThrow('shutting down');
    await expect(pollPoolReady('a', async () => status(true), { pollMs: 0 })).rejects.toMatchObject({ code: 'USAGE' });
  });
});
