/**
 * The error-policy table: one entry per code, and the behaviour each consumer reads from it
 * (exit statuses, breakers, fallback chains, retries) is the behaviour coord documents.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { COORD_ERROR_CODES, ERROR_POLICY, parseErrorCode, policyOf } from '../src/errors.js';
import { exitCodeFor } from '../src/cli/main.js';
import { CoordError } from '../src/errors.js';
import { FALLBACK_CODES } from '../src/supervisor/fallbacks.js';

const codesWhere = (test: (code: (typeof COORD_ERROR_CODES)[number]) => boolean): string[] => COORD_ERROR_CODES.filter(test).sort();

describe('ERROR_POLICY', () => {
  it('has exactly one entry per code', () => {
    expect(Object.keys(ERROR_POLICY).sort()).toEqual([...COORD_ERROR_CODES].sort());
  });

  it('exits 2 for bad usage, configuration, input and environment, 3 for no daemon, 1 for everything else', () => {
    expect(codesWhere((code) => policyOf(code).exit === 3)).toEqual(['DAEMON_NOT_RUNNING']);
    expect(codesWhere((code) => policyOf(code).exit === 2)).toEqual([
      'BAD_REQUEST', 'BRANCH_EXISTS', 'CONFIG_INVALID', 'DAEMON_RUNNING', 'DISK_FULL', 'REPO_DIRTY', 'REPO_NOT_FOUND', 'REPO_NO_COMMITS', 'SERVICE_MANAGER_UNAVAILABLE', 'STATE_DIR_UNWRITABLE', 'STATE_LOCKED',
      'STORE_CORRUPT', 'STORE_TOO_NEW', 'STORE_URL_INVALID', 'TASK_CYCLE', 'TASK_DUPLICATE_ID', 'TASK_EXISTS', 'TASK_FILE_SYNTAX',
      'TASK_FILE_UNREADABLE', 'TASK_INVALID', 'TASK_UNKNOWN_DEP', 'TASK_UNSAFE_ID', 'TASK_UNSATISFIABLE', 'UNAUTHORIZED', 'USAGE', 'WORKTREE_LOCKED',
      'PAYLOAD_INVALID', 'PAYLOAD_TOO_LARGE', 'POOL_NOT_FOUND',
    ].sort());
    expect(exitCodeFor(new CoordError('STATE_LOCKED', 'held'))).toBe(2);
    expect(exitCodeFor(new CoordError('ALL_WORKERS_FAILED', 'gone'))).toBe(1);
    expect(exitCodeFor(new Error('not ours'))).toBe(1);
  });

  it('trips the worker breaker for where a task ran, the command breaker for what it ran, and nothing for a crash or a cancel', () => {
    const trips = (chargedTo: string): string[] => codesWhere((code) => policyOf(code).tripsBreaker && policyOf(code).chargedTo === chargedTo);
    expect(trips('worker')).toEqual(['GIT_FAILED', 'LEASE_EXPIRED', 'WORKER_HUNG']);
    expect(trips('task')).toEqual(['AGENT_AUTH', 'AGENT_FAILED', 'MODULE_FAILED', 'MODULE_NOT_FOUND', 'TASK_EXIT_NONZERO', 'TASK_SPAWN_FAILED', 'TASK_TIMEOUT']);
    expect(policyOf('WORKER_CRASHED').tripsBreaker).toBe(false);
    expect(policyOf('TASK_CANCELLED').chargedTo).toBe('supervisor');
    // A provider's rate limit says nothing about the task or the worker.
    expect(policyOf('RATE_LIMITED')).toMatchObject({ chargedTo: 'supervisor', tripsBreaker: false, retryable: true });
  });

  it('starts fallback chains for stalled sessions only, by default', () => {
    expect([...FALLBACK_CODES].sort()).toEqual(['LEASE_EXPIRED', 'TASK_TIMEOUT', 'WORKER_HUNG']);
  });

  it('charges only a worktree that cannot be prepared (or set up) to the workspace', () => {
    expect(codesWhere((code) => policyOf(code).chargedTo === 'workspace')).toEqual(['SETUP_FAILED', 'WORKTREE_FAILED']);
  });

  it('never retries what another try cannot fix', () => {
    for (const code of ['TASK_SPAWN_FAILED', 'MODULE_NOT_FOUND', 'RESULT_NOT_SERIALIZABLE', 'GIT_FAILED', 'DEP_DEAD', 'TASK_KILLS_SUPERVISOR'] as const) {
      expect(policyOf(code).retryable, code).toBe(false);
    }
    for (const code of ['TASK_EXIT_NONZERO', 'TASK_TIMEOUT', 'WORKER_CRASHED', 'WORKER_HUNG', 'LEASE_EXPIRED', 'DEP_COMMIT_MISSING', 'GIT_PUSH_FAILED'] as const) {
      expect(policyOf(code).retryable, code).toBe(true);
    }
  });
});

describe('the policy table in docs/reliability.md', () => {
  it('says what ERROR_POLICY says, code for code', () => {
    const doc = readFileSync(path.resolve(import.meta.dirname, '..', 'docs', 'reliability.md'), 'utf8');
    const rows = [...doc.matchAll(/^\| `([A-Z_]+)` \| (yes|no) \| (\w+) \| (yes|no) \| (yes|no) \| ([123]) \|$/gm)];
    const documented = Object.fromEntries(rows.map(([, code, retryable, chargedTo, trips, fallback, exit]) => [
      code, { retryable: retryable === 'yes', chargedTo, tripsBreaker: trips === 'yes', startsFallback: fallback === 'yes', exit: Number(exit) },
    ]));
    expect(documented).toEqual(ERROR_POLICY);
  });
});

describe('parseErrorCode', () => {
  it('keeps a coord code and maps anything else to the fallback', () => {
    expect(parseErrorCode('TASK_TIMEOUT')).toBe('TASK_TIMEOUT');
    expect(parseErrorCode('ENOENT')).toBe('INTERNAL');
    expect(parseErrorCode(42, 'MODULE_FAILED')).toBe('MODULE_FAILED');
    expect(parseErrorCode(undefined)).toBe('INTERNAL');
  });
});
