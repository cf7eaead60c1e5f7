/**
 * What the store contract's groups share: the fixture shape, fixed time, a seeded random,
 * spec and failure builders, and normalising records (leases are random) for comparison.
 */
import { expect } from 'vitest';
import { isCoordError, type CoordErrorCode } from '../../../src/errors.js';
import type { StoreOptions } from '../../../src/store/store-options.js';
import type { Claim, Failure, TaskRecord, TaskStore } from '../../../src/store/task-store.js';
import { TaskSpecSchema, type TaskSpec, type TaskSpecInput } from '../../../src/tasks/spec.js';

/** A store under test, the URL that opens more instances on the same backing, and its cleanup. */
export interface StoreFixture {
  store: TaskStore;
  url: string;
  cleanup: () => Promise<void>;
}

/** Opens a fresh, empty store (each call a new backing) with `options`. */
export type MakeStore = (options?: StoreOptions) => Promise<StoreFixture>;

/** What a backend can do beyond the common contract. */
export interface ContractOptions {
  /** Another instance opened on `url` sees the same queue (SQLite file, PostgreSQL schema). */
  shared: boolean;
  /** Closing and reopening keeps everything. */
  durable: boolean;
  /** Child processes can open `url` and race for claims. */
  processes: boolean;
  /** Only one instance at a time leads the reaper (PostgreSQL's advisory lock). */
  exclusiveReaper: boolean;
  /** Writes `version` into the closed store's meta table. */
  setSchemaVersion?: (url: string, version: number) => Promise<void>;
  /**
   * Rewrites the closed store as schema version 1 left it (no `releases` table, no
   * `tasks.crash_releases`, version 1 in `meta`), checking its tables match version 1's.
   */
  downgradeToVersion1?: (url: string) => Promise<void>;
  /** The closed store's `meta` schema version. */
  schemaVersion?: (url: string) => Promise<number>;
  /** A digest of everything stored (the store closed), to prove a refused open wrote nothing. */
  fingerprint?: (url: string) => Promise<string>;
  /** Resolves once `store.onChange` listeners are in place (PostgreSQL connects LISTEN asynchronously). */
  listening?: (store: TaskStore) => Promise<void>;
}

/** Fixed epoch for every test: stores never read the clock. */
export const T0 = Date.parse('2025-01-01T00:00:00Z');

/** Seeded PRNG (mulberry32): the same jitter for every backend. */
export function seeded(seed = 7): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A parsed run task. */
export function spec(id: string, extra: Partial<TaskSpecInput> = {}): TaskSpec {
  return TaskSpecSchema.parse({ id, run: ['true'], ...extra });
}

/** A failure reported at `now`. */
export function failure(now: number, extra: { retryable?: boolean; retryAfterMs?: number | null; code?: CoordErrorCode } = {}): Failure {
  return {
    code: extra.code ?? 'TASK_EXIT_NONZERO',
    message: 'exit 1',
    exitCode: 1,
    retryable: extra.retryable ?? true,
    retryAfterMs: extra.retryAfterMs ?? null,
    now,
  };
}

/** A successful completion at `now`. */
export function completion(now: number, result: unknown = null) {
  return { exitCode: 0, result, commit: 'c0ffee', now };
}

/** Claims for node `n1` worker `w1` (or as given); fails the test when nothing is claimable. */
export async function mustClaim(
  store: TaskStore,
  now: number,
  extra: { nodeId?: string; workerId?: string; capabilities?: string[]; leaseMs?: number; taskId?: string } = {},
): Promise<Claim> {
  const claim = await store.claim({
    nodeId: extra.nodeId ?? 'n1',
    workerId: extra.workerId ?? 'w1',
    capabilities: extra.capabilities ?? [],
    leaseMs: extra.leaseMs ?? 10_000,
    now,
    ...(extra.taskId === undefined ? {} : { taskId: extra.taskId }),
  });
  if (claim === null) throw new Error('expected a claimable task');
  return claim;
}

/** Claims and completes the best task; returns its id. */
export async function runOne(store: TaskStore, now: number): Promise<string> {
  const claim = await mustClaim(store, now);
  expect(await store.complete(claim.task.spec.id, claim.lease, completion(now))).toBe(true);
  return claim.task.spec.id;
}

/** The code of the CoordError `run` rejects with. */
export async function codeOf(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
  } catch (error) {
    if (isCoordError(error)) return error.code;
    throw error;
  }
  return 'no error';
}

/** The status of `id`. */
export async function statusOf(store: TaskStore, id: string): Promise<string | undefined> {
  return (await store.get(id))?.status;
}

/**
 * Records with lease tokens replaced by `L1, L2, …` in order of first appearance, and
 * properties holding `undefined` dropped (JSON round trip), so two stores run through the
 * same steps compare equal.
 */
export function normalize(records: readonly TaskRecord[]): unknown {
  const names = new Map<string, string>();
  const name = (lease: string | null): string | null => {
    if (lease === null) return null;
    if (!names.has(lease)) names.set(lease, `L${names.size + 1}`);
    return names.get(lease) ?? null;
  };
  return JSON.parse(
    JSON.stringify(
      records.map((r) => ({
        ...r,
        lease: name(r.lease),
        attempts: r.attempts.map((a) => ({ ...a, lease: name(a.lease) })),
        released: r.released.map((a) => ({ ...a, lease: name(a.lease) })),
      })),
    ),
  ) as unknown;
}

/** Runs `body` on a fresh store and always cleans up. */
export async function withStore<T>(make: MakeStore, body: (store: TaskStore, fixture: StoreFixture) => Promise<T>, options?: StoreOptions): Promise<T> {
  const fixture = await make(options);
  try {
    return await body(fixture.store, fixture);
  } finally {
    await fixture.cleanup();
  }
}
