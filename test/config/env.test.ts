/**
 * COORD_<KEY> overrides: read with the key's own schema, a bad value named by its variable,
 * other COORD_* variables left alone.
 */
import { describe, expect, it } from 'vitest';
import { envVariableOf, ENV_KEYS, readEnvSettings } from '../../src/config/env.js';
import { isCoordError } from '../../src/errors.js';

function envError(env: Record<string, string>): { code: string; message: string; details: Record<string, unknown> } {
  try {
    readEnvSettings(env);
  } catch (error) {
    if (isCoordError(error)) return error;
    throw error;
  }
  throw new Error('expected a CoordError');
}

describe('COORD_* variables', () => {
  it('are named after their keys', () => {
    expect(ENV_KEYS.map(envVariableOf)).toEqual([
      'COORD_WORKERS', 'COORD_LOG_LEVEL', 'COORD_STORE', 'COORD_STATE_DIR', 'COORD_WORKTREE_ROOT', 'COORD_NODE_ID',
      'COORD_LEASE_MS', 'COORD_REMOTE', 'COORD_MAX_LOG_BYTES', 'COORD_HEARTBEAT_MS', 'COORD_DRAIN_DEADLINE_MS',
      'COORD_ALLOW_DIRTY', 'COORD_HTTP', 'COORD_MAX_ATTEMPTS', 'COORD_DEFAULT_TIMEOUT_MS', 'COORD_QUIET_AFTER_MS',
    ]);
  });

  it('are read as the values their keys hold', () => {
    expect(readEnvSettings({
      COORD_WORKERS: '8', COORD_LOG_LEVEL: 'debug', COORD_ALLOW_DIRTY: 'true', COORD_REMOTE: 'none',
      COORD_DEFAULT_TIMEOUT_MS: 'none', COORD_QUIET_AFTER_MS: '5000', COORD_STORE: 'memory:', COORD_HTTP: '127.0.0.1:0',
      COORD_CONFIG: 'ci/coord.yaml',
    })).toEqual({
      settings: {
        workers: 8, logLevel: 'debug', allowDirty: true, remote: false, defaultTimeoutMs: null, quietAfterMs: 5000,
        store: 'memory:', http: '127.0.0.1:0',
      },
      configFile: 'ci/coord.yaml',
    });
    expect(readEnvSettings({ COORD_ALLOW_DIRTY: '0' }).settings).toEqual({ allowDirty: false });
    expect(readEnvSettings({ COORD_ALLOW_DIRTY: 'FALSE', COORD_REMOTE: 'upstream' }).settings).toEqual({ allowDirty: false, remote: 'upstream' });
  });

  it('empty counts as unset; unknown COORD_* variables are ignored', () => {
    expect(readEnvSettings({ COORD_WORKERS: '', COORD_CONFIG: '', COORD_TASK_ID: 'x', COORD_WORKER_ID: 'w1', COORD_COLOUR: 'blue' }))
      .toEqual({ settings: {}, configFile: undefined });
  });

  it('a bad value is CONFIG_INVALID naming the variable and the value', () => {
    expect(envError({ COORD_WORKERS: '0' })).toMatchObject({
      code: 'CONFIG_INVALID',
      message: 'COORD_WORKERS: must be an integer from 1 to 64, not "0"',
      details: { variable: 'COORD_WORKERS', value: '0' },
    });
    expect(envError({ COORD_WORKERS: 'lots' }).message).toBe('COORD_WORKERS: must be an integer from 1 to 64, not "lots"');
    expect(envError({ COORD_LEASE_MS: '1.5' }).message).toBe('COORD_LEASE_MS: must be an integer of at least 200, not "1.5"');
    expect(envError({ COORD_ALLOW_DIRTY: 'yes' }).message).toBe('COORD_ALLOW_DIRTY: must be 1, true, 0 or false, not "yes"');
    expect(envError({ COORD_LOG_LEVEL: 'loud' }).message).toMatch(/^COORD_LOG_LEVEL: must be one of "trace", .*, not "loud"$/);
    expect(envError({ COORD_HTTP: 'localhost' }).message).toBe('COORD_HTTP: must be HOST:PORT (e.g. 127.0.0.1:8080, or port 0 for a free one), not "localhost"');
    expect(envError({ COORD_STORE: 'ftp://x' }).message).toMatch(/^COORD_STORE: invalid store URL "ftp:\/\/x": unknown scheme/);
    expect(envError({ COORD_QUIET_AFTER_MS: '-1' }).message).toBe('COORD_QUIET_AFTER_MS: must be an integer of at least 1, or null, not "-1"');
  });
});
