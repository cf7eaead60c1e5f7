/**
 * diffRunConfigs: which changes a running supervisor takes live and which need a restart.
 */
import { describe, expect, it } from 'vitest';
import { parseCliArgs } from '../../src/cli/args.js';
import { diffRunConfigs } from '../../src/config/live-diff.js';
import type { RunConfig } from '../../src/config/run-options.js';

/** A configuration as loadRunConfig builds it, from options (and optionally http and sections). */
function config(options: Partial<RunConfig['options']>, extra: Partial<Pick<RunConfig, 'http' | 'sections'>> = {}): RunConfig {
  return {
    options: { repo: '/srv/app', ...options },
    file: '/srv/app/coord.yaml',
    http: extra.http ?? null,
    sections: extra.sections ?? {},
    warnings: [],
    inputs: { args: parseCliArgs([]), env: {}, cwd: '/srv/app' },
  };
}

describe('diffRunConfigs', () => {
  it('nothing changed: nothing to do', () => {
    const same = { workers: 4, breaker: { failureThreshold: 2, openMs: 1000 } };
    expect(diffRunConfigs(config(same), config({ breaker: { openMs: 1000, failureThreshold: 2 }, workers: 4 }))).toEqual({ live: {}, restart: [] });
  });

  it('live settings that changed, at their new values', () => {
    const before = config({ workers: 2, logLevel: 'info', maxAttempts: 3, quietAfterMs: 30_000, drainDeadlineMs: 10_000 });
    const after = config({ workers: 8, logLevel: 'debug', maxAttempts: 3, quietAfterMs: null, defaultTimeoutMs: 60_000, drainDeadlineMs: 10_000 });
    expect(diffRunConfigs(before, after)).toEqual({
      live: { workers: 8, logLevel: 'debug', quietAfterMs: null, defaultTimeoutMs: 60_000 },
      restart: [],
    });
  });

  it('worker count down is as live as up', () => {
    expect(diffRunConfigs(config({ workers: 8 }), config({ workers: 1 })).live).toEqual({ workers: 1 });
  });

  it('breaker limits are compared deeply and given whole', () => {
    const before = config({ breaker: { failureThreshold: 5, openMs: 1000 } });
    const after = config({ breaker: { failureThreshold: 3, openMs: 1000 } });
    expect(diffRunConfigs(before, after)).toEqual({ live: { breaker: { failureThreshold: 3, openMs: 1000 } }, restart: [] });
  });

  it('a key taken out goes back to its default, and writing a default out changes nothing', () => {
    expect(diffRunConfigs(config({ workers: 8 }), config({})).live).toEqual({ workers: 4 });
    expect(diffRunConfigs(config({}), config({ workers: 4, logLevel: 'info' }))).toEqual({ live: {}, restart: [] });
  });

  it('everything else needs a restart, named by its dotted path', () => {
    const before = config({ store: 'sqlite:/a.db', restart: { maxRestarts: 5 }, fallback: { codes: ['TASK_TIMEOUT'] } }, { http: '127.0.0.1:0' });
    const after = config({ store: 'memory:', restart: { maxRestarts: 2, periodMs: 1000 }, fallback: { codes: ['WORKER_HUNG'] }, workers: 6 }, { http: '127.0.0.1:8080' });
    expect(diffRunConfigs(before, after)).toEqual({
      live: { workers: 6 },
      restart: ['fallback.codes', 'http', 'restart.maxRestarts', 'restart.periodMs', 'store'],
    });
  });

  it('pools, laid out at start, count as a restart change', () => {
    const before = config({ pools: [{ id: 'a', workers: 1 }] });
    const after = config({ pools: [{ id: 'a', workers: 2 }] });
    expect(diffRunConfigs(before, after)).toEqual({ live: {}, restart: ['pools'] });
  });

  it('rate limits and budgets are live; the merge queue needs a restart, by path', () => {
    const before = config({ budgets: { globalUsd: 10 }, rateLimits: { anthropic: { requestsPerMinute: 50 } }, merge: { target: 'main', test: ['npm', 'test'] } });
    const after = config({ budgets: { globalUsd: 20 }, rateLimits: { anthropic: { requestsPerMinute: 40 } }, merge: { target: 'main', test: ['npm', 'test'], batch: 2 } });
    expect(diffRunConfigs(before, after)).toEqual({
      live: { budgets: { globalUsd: 20, warnAt: 0.8 }, rateLimits: { anthropic: { requestsPerMinute: 40 } } },
      restart: ['merge.batch'],
    });
  });

  it('budgets taken out of the file are a live change to none', () => {
    const diff = diffRunConfigs(config({ budgets: { globalUsd: 10 } }), config({}));
    expect('budgets' in diff.live && diff.live.budgets === undefined).toBe(true);
  });

  it('does not change what it compares', () => {
    const before = config({ workers: 2, breaker: { openMs: 5 } });
    const after = config({ workers: 3, breaker: { openMs: 6 } });
    const copies = [structuredClone(before), structuredClone(after)];
    diffRunConfigs(before, after);
    expect([before, after]).toEqual(copies);
  });
});
